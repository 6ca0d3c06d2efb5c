/* Storyloom capture form: progressive enhancement. Without this script the form still
   works: every section shows, the file inputs open the phone's recorder or files, and the
   browser posts the form normally. With it: record in the page (level meter, time, play
   back, record again), only the chosen way of adding the story shows, and the story is sent
   with a progress bar; problems come back without losing the recording. */
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

  function showProblems(box, problems) {
    box.textContent = "";
    var title = document.createElement("h2");
    title.className = "error-summary__title";
    title.textContent = "There is a problem";
    box.appendChild(title);
    var list = document.createElement("ul");
    problems.forEach(function (problem) {
      var item = document.createElement("li");
      if (problem.id) {
        var link = document.createElement("a");
        link.href = "#" + problem.id;
        link.textContent = problem.message;
        item.appendChild(link);
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
    var link = $(form, "[data-play-aloud]");
    if (!link || !window.Audio) {
      return;
    }
    var player = null;
    link.setAttribute("role", "button");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      if (!player) {
        player = new Audio(link.href);
        player.addEventListener("ended", function () {
          link.textContent = "Play aloud";
        });
      }
      if (player.paused) {
        player.play();
        link.textContent = "Stop playing";
      } else {
        player.pause();
        player.currentTime = 0;
        link.textContent = "Play aloud";
      }
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

  function formDataFor(form) {
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

    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
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
        window.location.assign(answer.redirect);
      } else if (answer && answer.html) {
        showFormAgain(answer.html, answer.errors, files);
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
    request.send(formDataFor(form));
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
