/* Storyloom capture form: progressive enhancement. Without this script the form still
   works: every section shows, the file inputs open the phone's recorder or files, and the
   browser posts the form normally. With it: record in the page (level meter, time, play
   back, record again), only the chosen way of adding the story shows, and the story is sent
   with a progress bar (the recording first, in pieces that carry on after a dropped
   connection); problems come back without losing the recording. */
(function () {
  "use strict";

  var container = document.getElementById("capture-form-container");
  if (!container) {
    return;
  }

  var GENERIC_FAILURE =
    "Something went wrong, so the story has not been saved yet. Your recording is still here. " +
    "Please try again in a minute.";
  var INTERRUPTED =
    "The upload stopped before it finished, so nothing was saved. Please check your " +
    "connection and send the story again.";
  var EMPTY = "The file is empty. Please record or choose the file again.";

  // The finished in-page recording lives here, so that it survives a form shown again.
  var recorded = null;
  var current = null; // the live recording session, if any

  function $(root, selector) {
    return root.querySelector(selector);
  }

  function $all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function formatTime(ms) {
    var seconds = Math.floor(ms / 1000);
    var minutes = Math.floor(seconds / 60);
    seconds = seconds % 60;
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function putFileInInput(input, file) {
    // DataTransfer is the one way to set a file input's files from script.
    try {
      var transfer = new DataTransfer();
      transfer.items.add(file);
      input.files = transfer.files;
      return true;
    } catch (error) {
      return false; // sendForm adds the recording to the upload itself
    }
  }

  function labelFor(form, element) {
    var fieldset = element.closest("fieldset");
    if (element.type === "radio" && fieldset) {
      var legend = $(fieldset, "legend");
      return legend ? legend.textContent.trim() : "";
    }
    var label = element.id ? $(form, 'label[for="' + element.id + '"]') : null;
    return label ? label.textContent.trim() : element.name;
  }

  /* --- Error summaries ------------------------------------------------------------------ */

  // A field with a problem found here says so to screen readers (aria-invalid), and its
  // description includes the problem's line in the summary, as the server's errors do.
  function markProblem(form, id, itemId) {
    var field = id && document.getElementById(id);
    if (!field) {
      return;
    }
    var described = (field.getAttribute("aria-describedby") || "").split(" ");
    if (described.indexOf(itemId) === -1) {
      described.push(itemId);
    }
    field.setAttribute("aria-describedby", described.join(" ").trim());
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("data-client-invalid", "");
  }

  function clearProblems(form) {
    $all(form, "[data-client-invalid]").forEach(function (field) {
      var described = (field.getAttribute("aria-describedby") || "")
        .split(" ")
        .filter(function (id) {
          return id && id.indexOf("client-error-") !== 0;
        });
      if (described.length) {
        field.setAttribute("aria-describedby", described.join(" "));
      } else {
        field.removeAttribute("aria-describedby");
      }
      field.removeAttribute("aria-invalid");
      field.removeAttribute("data-client-invalid");
    });
  }

  function showProblems(box, problems) {
    var form = box.closest("form");
    clearProblems(form);
    box.textContent = "";
    var title = document.createElement("h2");
    title.className = "error-summary__title";
    title.textContent = "There is a problem";
    box.appendChild(title);
    var list = document.createElement("ul");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      if (problem.id) {
        item.id = "client-error-" + problem.id;
        var link = document.createElement("a");
        link.href = "#" + problem.id;
        link.textContent = problem.message;
        item.appendChild(link);
        markProblem(form, problem.id, item.id);
      } else {
        item.textContent = problem.message;
      }
      list.appendChild(item);
    });
    box.appendChild(list);
    box.hidden = false;
    box.focus();
  }

  function showMessage(box, message) {
    box.textContent = "";
    var text = document.createElement("p");
    text.textContent = message;
    box.appendChild(text);
    box.hidden = false;
    box.focus();
  }

  /* --- Which way the story is added ---------------------------------------------------- */

  function chosenType(form) {
    var checked = $(form, 'input[name="story_type"]:checked');
    return checked ? checked.value : "";
  }

  function showChosenSection(form) {
    var chosen = chosenType(form);
    $all(form, "[data-story-section]").forEach(function (section) {
      section.hidden = Boolean(chosen) && section.getAttribute("data-story-section") !== chosen;
    });
  }

  /* --- The recorder -------------------------------------------------------------------- */

  function canRecord() {
    return Boolean(
      navigator.mediaDevices &&
        navigator.mediaDevices.getUserMedia &&
        window.MediaRecorder &&
        window.DataTransfer
    );
  }

  function pickMimeType() {
    var wanted = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4", "audio/ogg;codecs=opus"];
    for (var i = 0; i < wanted.length; i += 1) {
      if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(wanted[i])) {
        return wanted[i];
      }
    }
    return "";
  }

  function extensionFor(type) {
    if (type.indexOf("mp4") !== -1) {
      return "m4a";
    }
    if (type.indexOf("ogg") !== -1) {
      return "ogg";
    }
    return "webm";
  }

  function setupRecorder(form) {
    var box = $(form, "[data-recorder]");
    var fallback = $(form, "[data-recorder-fallback]");
    if (!box || !canRecord()) {
      return;
    }
    var input = $(fallback, 'input[type="file"]');
    var start = $(box, "[data-recorder-start]");
    var stop = $(box, "[data-recorder-stop]");
    var again = $(box, "[data-recorder-again]");
    var time = $(box, "[data-recorder-time]");
    var meter = $(box, "[data-recorder-meter]");
    var bar = $(box, "[data-recorder-bar]");
    var status = $(box, "[data-recorder-status]");
    var playback = $(box, "[data-recorder-playback]");

    box.hidden = false;
    fallback.hidden = true;

    function showLevel(level) {
      meter.value = level;
      meter.textContent = Math.round(level * 100) + "%";
      bar.style.width = Math.round(level * 100) + "%";
    }

    function showFinished(file) {
      if (playback.src) {
        URL.revokeObjectURL(playback.src);
      }
      playback.src = URL.createObjectURL(file);
      playback.hidden = false;
      start.hidden = true;
      stop.hidden = true;
      again.hidden = false;
      putFileInInput(input, file);
    }

    function begin() {
      status.textContent = "Asking to use the microphone…";
      navigator.mediaDevices
        .getUserMedia({ audio: true })
        .then(function (stream) {
          var type = pickMimeType();
          var recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
          var chunks = [];
          var AudioContextClass = window.AudioContext || window.webkitAudioContext;
          var audio = AudioContextClass ? new AudioContextClass() : null;
          var analyser = null;
          var samples = null;
          if (audio) {
            analyser = audio.createAnalyser();
            analyser.fftSize = 2048;
            audio.createMediaStreamSource(stream).connect(analyser);
            samples = new Float32Array(analyser.fftSize);
            if (audio.resume) {
              audio.resume();
            }
          }
          var startedAt = Date.now();
          current = { recorder: recorder, stream: stream, audio: audio, timer: null };
          current.timer = window.setInterval(function () {
            time.textContent = formatTime(Date.now() - startedAt);
            if (analyser) {
              analyser.getFloatTimeDomainData(samples);
              var sum = 0;
              for (var i = 0; i < samples.length; i += 1) {
                sum += samples[i] * samples[i];
              }
              // Speech sits around 0.05–0.2 RMS: scale it to fill the meter.
              showLevel(Math.min(1, Math.sqrt(sum / samples.length) * 5));
            }
          }, 100);

          recorder.addEventListener("dataavailable", function (event) {
            if (event.data && event.data.size) {
              chunks.push(event.data);
            }
          });
          recorder.addEventListener("stop", function () {
            var session = current;
            current = null;
            window.clearInterval(session.timer);
            session.stream.getTracks().forEach(function (track) {
              track.stop();
            });
            if (session.audio && session.audio.close) {
              session.audio.close();
            }
            showLevel(0);
            var mime = (recorder.mimeType || type || "audio/webm").split(";")[0];
            var blob = new Blob(chunks, { type: mime });
            if (!blob.size) {
              status.textContent = "Nothing was recorded. Please check the microphone and try again.";
              start.hidden = false;
              stop.hidden = true;
              return;
            }
            recorded = new File([blob], "recording." + extensionFor(mime), { type: mime });
            showFinished(recorded);
            status.textContent =
              "Recording finished: " + formatTime(Date.now() - startedAt) +
              ". Listen back, or record again.";
          });

          recorder.start(1000);
          start.hidden = true;
          again.hidden = true;
          stop.hidden = false;
          playback.hidden = true;
          status.textContent = "Recording. Press Stop when the story is finished.";
          stop.focus();
        })
        .catch(function () {
          status.textContent =
            "We could not use the microphone. Please allow this site to use it, " +
            "or use your phone's recorder below.";
          fallback.hidden = false;
        });
    }

    start.addEventListener("click", begin);
    stop.addEventListener("click", function () {
      if (current && current.recorder.state !== "inactive") {
        current.recorder.stop();
      }
    });
    again.addEventListener("click", function () {
      recorded = null;
      input.value = "";
      playback.hidden = true;
      time.textContent = "0:00";
      begin();
    });

    if (recorded) {
      showFinished(recorded);
      status.textContent = "Your recording is still here. Listen back, or record again.";
    }
  }

  /* --- Play the consent script aloud --------------------------------------------------- */

  function setupPlayAloud(form) {
    if (!window.Audio) {
      return;
    }
    // The script and its easy-read words each have a link; one plays at a time.
    var links = $all(form, "[data-play-aloud]");
    var players = [];
    function stop(index) {
      if (players[index] && !players[index].paused) {
        players[index].pause();
        players[index].currentTime = 0;
      }
      links[index].textContent = links[index].getAttribute("data-play-label");
    }
    links.forEach(function (link, index) {
      link.setAttribute("role", "button");
      link.setAttribute("data-play-label", link.textContent);
      link.addEventListener("click", function (event) {
        event.preventDefault();
        if (!players[index]) {
          players[index] = new Audio(link.href);
          players[index].addEventListener("ended", function () {
            stop(index);
          });
        }
        if (players[index].paused) {
          links.forEach(function (other, otherIndex) {
            stop(otherIndex);
          });
          players[index].play();
          link.textContent = "Stop playing";
        } else {
          stop(index);
        }
      });
    });
  }

  /* --- Sending ------------------------------------------------------------------------- */

  function checkBeforeSending(form) {
    var problems = [];
    var seen = {};
    $all(form, "input, select, textarea").forEach(function (element) {
      if (element.closest("[hidden]") || seen[element.name] || element.checkValidity()) {
        return;
      }
      seen[element.name] = true;
      problems.push({
        id: element.id,
        message:
          element.getAttribute("data-required-message") ||
          labelFor(form, element) + ": " + element.validationMessage,
      });
    });
    var limit = Number(form.getAttribute("data-max-bytes"));
    var chosen = chosenType(form);
    $all(form, 'input[type="file"]').forEach(function (input) {
      var section = input.closest("[data-story-section]");
      if (section && section.getAttribute("data-story-section") !== chosen) {
        return;
      }
      var file = input.files && input.files[0];
      if (file && limit && file.size > limit) {
        problems.push({ id: input.id, message: form.getAttribute("data-too-large-message") });
      } else if (file && file.size === 0) {
        problems.push({ id: input.id, message: EMPTY });
      }
    });
    return problems;
  }

  function formDataFor(form, sentAhead) {
    var data = new FormData(form);
    var chosen = chosenType(form);
    // Only the chosen way of adding the story travels: no other file is uploaded.
    $all(form, "[data-story-section]").forEach(function (section) {
      if (section.getAttribute("data-story-section") !== chosen) {
        $all(section, "input[type=file], textarea").forEach(function (input) {
          data.delete(input.name);
        });
      }
    });
    if (chosen === "record" && recorded) {
      data.set("recording", recorded, recorded.name);
    }
    if (sentAhead) {
      data.delete(sentAhead); // already on the server: the form names it instead
    }
    return data;
  }

  function rememberFiles(form) {
    var files = {};
    $all(form, 'input[type="file"]').forEach(function (input) {
      if (input.files && input.files[0]) {
        files[input.name] = input.files[0];
      }
    });
    return files;
  }

  function showFormAgain(html, errors, files) {
    errors = errors || {};
    if (errors.recording) {
      recorded = null; // the recording itself was the problem
    }
    if (errors.recording || errors.media_file) {
      sentAhead = null; // the server has let go of it too
    }
    container.innerHTML = html;
    var form = $(container, "form");
    setup(form);
    Object.keys(files).forEach(function (name) {
      var input = $(form, 'input[type="file"][name="' + name + '"]');
      if (input && !errors[name] && name !== "recording") {
        putFileInInput(input, files[name]);
      }
    });
    var summary = $(form, "[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  /* --- Resumable upload (tus) -------------------------------------------------------- *
   * The recording or file goes first, in pieces, with tus-js-client (static/stories/vendor).
   * If the connection drops, the upload waits until the phone is back online and carries on
   * from the last piece the server has; the form then follows, naming the finished upload.
   * Once the story is saved, nothing about the upload is left in the browser's storage. */

  var CONNECTION_LOST = "Connection lost. We will carry on when you are back online.";
  var TRY_AGAIN_AFTER_MS = 15000; // also try again now and then: "online" is not always told

  // The upload that finished for this form, kept while the form may be sent again.
  var sentAhead = null; // {file, field, id, url}

  function fileToSend(form) {
    var chosen = chosenType(form);
    var field = chosen === "record" ? "recording" : chosen === "upload" ? "media_file" : "";
    if (!field) {
      return null;
    }
    var file = field === "recording" ? recorded : null;
    if (!file) {
      var input = $(form, 'input[type="file"][name="' + field + '"]');
      file = input && input.files && input.files[0];
    }
    return file ? { file: file, field: field } : null;
  }

  function sameFile(a, b) {
    return (
      a === b ||
      Boolean(a && b && a.name === b.name && a.size === b.size && a.lastModified === b.lastModified)
    );
  }

  function canSendAhead(form) {
    return Boolean(
      window.tus && window.tus.isSupported && form.getAttribute("data-resumable-url")
    );
  }

  function forgetUpload(url) {
    // tus-js-client remembers unfinished uploads in localStorage under "tus::" keys (and
    // forgets a finished one itself: this is in case it could not).
    try {
      var keys = [];
      for (var i = 0; i < window.localStorage.length; i += 1) {
        keys.push(window.localStorage.key(i));
      }
      keys.forEach(function (key) {
        if (key && key.indexOf("tus::") === 0) {
          var value = window.localStorage.getItem(key) || "";
          if (value.indexOf(url) !== -1) {
            window.localStorage.removeItem(key);
          }
        }
      });
    } catch (error) {
      // storage turned off: nothing was kept
    }
  }

  function messageFrom(error) {
    var response = error && error.originalResponse;
    try {
      var answer = JSON.parse(response.getBody());
      if (answer && answer.message) {
        return answer.message;
      }
    } catch (ignored) {
      // not one of our answers
    }
    return GENERIC_FAILURE;
  }

  function sendAhead(form, chosen, ui, done) {
    var token = $(form, 'input[name="csrfmiddlewaretoken"]');
    var waiting = null;
    var upload = null;

    var announced = -1;

    function carryOn(event) {
      window.removeEventListener("online", carryOn);
      window.clearTimeout(waiting);
      waiting = null;
      if (event && event.type === "online") {
        ui.status("Back online. Sending the rest of the story…");
      }
      upload.start(); // asks the server how much it has, then sends the rest
    }

    upload = new window.tus.Upload(chosen.file, {
      endpoint: new URL(form.getAttribute("data-resumable-url"), window.location.href).href,
      chunkSize: Number(form.getAttribute("data-upload-chunk-bytes")) || 1048576,
      retryDelays: [0, 1000, 3000, 5000],
      headers: { "X-CSRFToken": token ? token.value : "" },
      metadata: { filename: chosen.file.name || "recording", filetype: chosen.file.type || "" },
      removeFingerprintOnSuccess: true,
      onShouldRetry: function (error) {
        var status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (!navigator.onLine) {
          return false; // wait for the connection below, however long it takes
        }
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onProgress: function (sent, total) {
        var percent = Math.round((sent / total) * 100);
        ui.progress(percent);
        // Said in steps of ten, so that a screen reader is not talking all the time.
        if (!waiting && Math.floor(percent / 10) !== Math.floor(announced / 10)) {
          announced = percent;
          ui.status("Sending… " + percent + "%");
        }
      },
      onError: function (error) {
        var status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (status === 0 && error.originalRequest) {
          ui.status(CONNECTION_LOST);
          window.addEventListener("online", carryOn);
          waiting = window.setTimeout(carryOn, TRY_AGAIN_AFTER_MS);
          return;
        }
        ui.fail(messageFrom(error));
      },
      onSuccess: function () {
        sentAhead = {
          file: chosen.file,
          field: chosen.field,
          url: upload.url,
          id: upload.url.replace(/\/$/, "").split("/").pop(),
        };
        done(sentAhead);
      },
    });
    // The same file chosen again after the page was closed carries on where it stopped.
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
      }
      upload.start();
    });
  }

  function sendForm(form) {
    var submit = $(form, "[data-submit]");
    var wrap = $(form, "[data-upload-progress-wrap]");
    var progress = $(form, "[data-upload-progress]");
    var percent = $(form, "[data-upload-progress-text]");
    var status = $(form, "[data-upload-status]");
    var message = $(form, "[data-upload-message]");
    var files = rememberFiles(form);

    function setProgress(value) {
      var rounded = Math.max(0, Math.min(100, Math.round(value)));
      progress.value = rounded;
      progress.textContent = rounded + "%";
      percent.textContent = rounded + "%";
    }

    function fail(text) {
      submit.disabled = false;
      wrap.hidden = true;
      showMessage(message, text);
    }

    message.hidden = true;
    submit.disabled = true;
    wrap.hidden = false;
    setProgress(0);
    status.textContent = "Sending the story. Please keep this page open.";

    var chosen = fileToSend(form);
    if (chosen && sentAhead && sentAhead.field === chosen.field && sameFile(sentAhead.file, chosen.file)) {
      postForm(sentAhead); // sent already, when the form was sent before
    } else if (chosen && canSendAhead(form)) {
      sentAhead = null;
      sendAhead(
        form,
        chosen,
        {
          progress: setProgress,
          status: function (text) {
            status.textContent = text;
          },
          fail: fail,
        },
        postForm
      );
    } else {
      postForm(null);
    }

    function postForm(ahead) {
      var request = new XMLHttpRequest();
      request.open("POST", ahead ? form.action + "?upload=" + encodeURIComponent(ahead.id) : form.action);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.setRequestHeader("Accept", "application/json");
      if (ahead) {
        setProgress(100);
        status.textContent = "Sent. Checking the recording and saving the story…";
      }
      request.upload.addEventListener("progress", function (event) {
        if (!ahead && event.lengthComputable) {
          setProgress((event.loaded / event.total) * 100);
        }
      });
      request.upload.addEventListener("load", function () {
        setProgress(100);
        status.textContent = "Sent. Checking the recording and saving the story…";
      });
      request.addEventListener("load", function () {
        var answer = null;
        try {
          answer = JSON.parse(request.responseText);
        } catch (error) {
          answer = null;
        }
        if (request.status === 200 && answer && answer.redirect) {
          setProgress(100);
          status.textContent = "Saved. Opening the story…";
          // Nothing about this story stays on the phone.
          if (ahead) {
            forgetUpload(ahead.url);
          }
          sentAhead = null;
          recorded = null;
          window.location.assign(answer.redirect);
        } else if (answer && answer.html) {
          showFormAgain(answer.html, answer.errors, files);
        } else if (ahead && request.status === 404) {
          sentAhead = null; // the upload ran out of time: send the file again next time
          fail(GENERIC_FAILURE);
        } else if (answer && answer.message) {
          fail(answer.message);
        } else {
          fail(GENERIC_FAILURE);
        }
      });
      request.addEventListener("error", function () {
        fail(INTERRUPTED);
      });
      request.addEventListener("abort", function () {
        fail(INTERRUPTED);
      });
      request.send(formDataFor(form, ahead && ahead.field));
    }
  }

  /* --- Wiring ---------------------------------------------------------------------------- */

  function setup(form) {
    if (!form) {
      return;
    }
    // We check and explain problems ourselves, in the same words as the server.
    form.noValidate = true;
    showChosenSection(form);
    $all(form, 'input[name="story_type"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        showChosenSection(form);
      });
    });
    setupRecorder(form);
    setupPlayAloud(form);
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) {
        return; // the browser sends the form the ordinary way
      }
      event.preventDefault();
      if (current) {
        showMessage($(form, "[data-upload-message]"), "Please press Stop before sending the story.");
        return;
      }
      var problems = checkBeforeSending(form);
      if (problems.length) {
        showProblems($(form, "[data-client-errors]"), problems);
        return;
      }
      $(form, "[data-client-errors]").hidden = true;
      clearProblems(form);
      sendForm(form);
    });
  }

  var form = $(container, "form");
  setup(form);
  var summary = form && $(form, "[data-error-summary]");
  if (summary) {
    summary.focus();
  }
})();
