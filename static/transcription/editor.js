// The transcript editor, made quicker with JavaScript. Every form works without it (a full
// page POST); here the same forms are sent with fetch, the changed line is swapped in place
// (so the recording keeps playing), and the player and the lines follow each other.
(function () {
  "use strict";

  const editor = document.querySelector("[data-editor]");
  if (!editor) return;

  const player = editor.querySelector("[data-player]");
  const status = editor.querySelector("[data-editor-status]");
  const selectionForm = editor.querySelector("[data-selection-form]");

  // --- Saying what happened (a polite live region) -------------------------------------------

  function announce(message, isError) {
    if (!status) return;
    status.textContent = "";
    status.classList.toggle("editor__status--error", Boolean(isError));
    window.setTimeout(function () {
      status.textContent = message;
    }, 50);
  }

  // --- Sending forms ----------------------------------------------------------------------

  function csrfToken(form) {
    const field = form.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function send(form, submitter) {
    const data = submitter ? new FormData(form, submitter) : new FormData(form);
    let response;
    try {
      // getAttribute: a field named "action" hides the form's own `action` property.
      response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
      });
    } catch (error) {
      return {
        ok: false,
        message: "We could not reach the server, so nothing was saved. Your words are still here. Please try again.",
      };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!body) {
      return {
        ok: false,
        message: "Something went wrong, so nothing was saved. Your words are still here. Please try again.",
      };
    }
    return body;
  }

  function lineOf(element) {
    return element.closest("[data-line]");
  }

  function showRefusal(line, body) {
    let box = line.querySelector(".line__refused");
    if (!box) {
      box = document.createElement("div");
      box.className = "line__refused";
      box.setAttribute("role", "alert");
      const tools = line.querySelector(".line__tools");
      line.insertBefore(box, tools);
    }
    box.textContent = "";
    const message = document.createElement("p");
    message.textContent = body.message;
    box.appendChild(message);
    if (typeof body.current_text === "string") {
      const textarea = line.querySelector("[data-line-textarea]");
      if (!textarea || body.current_text !== textarea.value) {
        const now = document.createElement("p");
        now.textContent = "The line now reads: “" + body.current_text + "”";
        box.appendChild(now);
      }
    }
    if (body.version) {
      // The person has now seen the newer words: saving again is their decision.
      line.querySelectorAll("[data-line-version]").forEach(function (field) {
        field.value = body.version;
      });
      line.dataset.version = body.version;
    }
  }

  async function submitLineForm(form, submitter) {
    const line = lineOf(form);
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    announce("Saving…");
    const body = await send(form, submitter);
    buttons.forEach(function (b) {
      b.disabled = false;
    });
    if (!body.ok) {
      showRefusal(line, body);
      announce(body.message, true);
      return;
    }
    if (body.html) {
      const holder = document.createElement("template");
      holder.innerHTML = body.html.trim();
      const fresh = holder.content.firstElementChild;
      const wasEditing = form.hasAttribute("data-line-form") && form.closest("[data-line-edit]");
      line.replaceWith(fresh);
      const focusTarget = wasEditing
        ? fresh.querySelector("[data-line-edit] summary")
        : fresh.querySelector(".line__name button, .line__name span");
      if (focusTarget && wasEditing) focusTarget.focus();
      refreshClipPicks();
      // Changed words may hold a name to hide: the list of suggestions is fetched again.
      if (wasEditing) await refreshRegions(["[data-editor-redactions]"]);
    }
    announce(body.message);
  }

  // Sections that a redaction or a whole-transcript change may alter are fetched again and
  // swapped in, rather than reloading the page (the recording keeps playing).
  const REGIONS = ["[data-editor-lines]", "[data-editor-redactions]", "[data-editor-checked]"];

  async function refreshRegions(regions) {
    const response = await fetch(window.location.href, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!response.ok) {
      window.location.reload();
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    (regions || REGIONS).forEach(function (selector) {
      const now = editor.querySelector(selector);
      const fresh = page.querySelector(selector);
      if (now && fresh) now.replaceWith(document.importNode(fresh, true));
    });
    const refused = page.querySelector("[data-editor-refused]");
    const shown = editor.querySelector("[data-editor-refused]");
    if (shown && !refused) shown.remove();
    refreshClipPicks();
  }

  async function submitRefreshForm(form, submitter) {
    announce("Saving…");
    const body = await send(form, submitter);
    if (!body.ok) {
      announce(body.message, true);
      return;
    }
    await refreshRegions();
    announce(body.message);
    if (form === selectionForm) hideSelectionForm();
  }

  editor.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("data-line-form")) {
      event.preventDefault();
      submitLineForm(form, event.submitter);
    } else if (form.matches("[data-editor-form=refresh], [data-selection-form]")) {
      event.preventDefault();
      submitRefreshForm(form, event.submitter);
    }
  });

  // The speaker is saved as soon as it is chosen.
  editor.addEventListener("change", function (event) {
    const form = event.target.closest("form[data-autosubmit]");
    if (form && event.target.matches("select")) form.requestSubmit();
    if (event.target.matches("[data-clip-pick]")) pickClipLines();
  });
  editor.classList.add("editor--js");

  // Keyboard: Ctrl+Enter saves the words; Escape closes the box without saving.
  editor.addEventListener("keydown", function (event) {
    const textarea = event.target.closest("[data-line-textarea]");
    if (!textarea) return;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      textarea.form.requestSubmit();
    } else if (event.key === "Escape") {
      const details = textarea.closest("details");
      if (details) {
        details.open = false;
        details.querySelector("summary").focus();
      }
    }
  });

  editor.addEventListener(
    "toggle",
    function (event) {
      const details = event.target;
      if (details.matches && details.matches("[data-line-edit]") && details.open) {
        const textarea = details.querySelector("textarea");
        if (textarea) textarea.focus();
      }
    },
    true
  );

  // --- The player and the lines -----------------------------------------------------------

  function seek(seconds, play) {
    if (!player || Number.isNaN(seconds)) return;
    player.currentTime = seconds;
    if (play) {
      const started = player.play();
      if (started && started.catch) started.catch(function () {});
    }
    highlight();
  }

  editor.addEventListener("click", function (event) {
    const button = event.target.closest("[data-seek]");
    if (button) {
      seek(parseFloat(button.dataset.seek), true);
      return;
    }
    const text = event.target.closest("[data-line-text]");
    if (text && player) {
      const selection = window.getSelection();
      if (selection && !selection.isCollapsed) return; // choosing words to hide
      const line = lineOf(text);
      if (line && line.dataset.start) seek(parseFloat(line.dataset.start), !player.paused);
    }
  });

  let playing = null;

  function highlight() {
    if (!player) return;
    const now = player.currentTime;
    let found = null;
    editor.querySelectorAll("[data-line][data-start]").forEach(function (line) {
      const start = parseFloat(line.dataset.start);
      const end = parseFloat(line.dataset.end);
      if (now >= start && now < end) found = line;
    });
    if (found === playing && (!found || found.classList.contains("line--playing"))) return;
    editor.querySelectorAll(".line--playing").forEach(function (line) {
      line.classList.remove("line--playing");
      line.removeAttribute("aria-current");
    });
    playing = found;
    if (!found) return;
    found.classList.add("line--playing");
    found.setAttribute("aria-current", "true");
    // Follow the recording, unless the person is busy in the list of lines.
    const busy = editor.querySelector("[data-editor-lines]").contains(document.activeElement);
    if (!player.paused && !busy) found.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  if (player) {
    player.addEventListener("timeupdate", highlight);
    player.addEventListener("seeked", highlight);
  }

  // --- Choosing words to hide --------------------------------------------------------------

  // Characters from the start of a line's text to a point in it, not counting the hints
  // that are only there for screen readers ([data-skip]): the same count as the server's.
  function offsetIn(container, node, offset) {
    const range = document.createRange();
    range.selectNodeContents(container);
    range.setEnd(node, offset);
    const copy = range.cloneContents();
    copy.querySelectorAll("[data-skip]").forEach(function (skip) {
      skip.remove();
    });
    return copy.textContent.length;
  }

  function lineText(node) {
    const element = node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
    const text = element && element.closest("[data-line-text]");
    return text && editor.contains(text) ? text : null;
  }

  function hideSelectionForm() {
    if (selectionForm) selectionForm.hidden = true;
  }

  function setField(name, value) {
    selectionForm.querySelector('[data-selection-field="' + name + '"]').value = value;
  }

  function readSelection() {
    if (!selectionForm) return;
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return;
    const range = selection.getRangeAt(0);
    const startText = lineText(range.startContainer);
    const endText = lineText(range.endContainer);
    if (!startText || !endText) return;
    const full = (t) => t.textContent;
    let start = offsetIn(startText, range.startContainer, range.startOffset);
    let end = offsetIn(endText, range.endContainer, range.endOffset);
    // Leave out spaces at either end of the selection.
    const startWords = full(startText);
    while (start < startWords.length && /\s/.test(startWords[start])) start += 1;
    const endWords = full(endText);
    while (end > 0 && /\s/.test(endWords[end - 1])) end -= 1;
    const startLine = lineOf(startText);
    const endLine = lineOf(endText);
    if (startLine === endLine && end <= start) return;
    setField("segment", startLine.dataset.line);
    setField("start_char", start);
    if (startLine === endLine) {
      setField("end_char", end);
      setField("end_segment", "");
      setField("end_char_in_end_segment", "");
    } else {
      setField("end_char", startWords.length);
      setField("end_segment", endLine.dataset.line);
      setField("end_char_in_end_segment", end);
    }
    let preview = selection.toString().replace(/\s+/g, " ").trim();
    if (preview.length > 80) preview = preview.slice(0, 77) + "…";
    selectionForm.querySelector("[data-selection-preview]").textContent = preview;
    selectionForm.hidden = false;
  }

  let selectionTimer = null;
  document.addEventListener("selectionchange", function () {
    window.clearTimeout(selectionTimer);
    selectionTimer = window.setTimeout(readSelection, 150);
  });

  if (selectionForm) {
    selectionForm.querySelector("[data-selection-cancel]").addEventListener("click", function () {
      hideSelectionForm();
      const selection = window.getSelection();
      if (selection) selection.removeAllRanges();
    });
  }

  // --- Clips: tick lines, and the first and last are chosen for you -----------------------

  function pickClipLines() {
    const first = editor.querySelector("[data-clip-first]");
    const last = editor.querySelector("[data-clip-last]");
    if (!first || !last) return;
    const picked = Array.from(editor.querySelectorAll("[data-clip-pick]:checked")).map(
      (box) => box.value
    );
    if (!picked.length) return;
    first.value = picked[0];
    last.value = picked[picked.length - 1];
  }

  function refreshClipPicks() {
    pickClipLines();
  }
})();
