// Live transcription progress: ask the server every few seconds and update the bar and the
// words; reload the page once the transcript is ready (or has failed) to show the result.
(function () {
  if (window.storyloomTranscriptionProgress) return;
  window.storyloomTranscriptionProgress = true;
  var EVERY_MS = 4000;

  function update(box) {
    var url = box.getAttribute("data-transcription-progress");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        if (data.finished) {
          window.location.reload();
          return;
        }
        var bar = box.querySelector("progress");
        if (bar) {
          bar.value = data.percent;
          bar.textContent = data.percent + "%";
        }
        var parts = { message: data.message, estimate: data.estimated_finish_text };
        Object.keys(parts).forEach(function (name) {
          var el = box.querySelector('[data-part="' + name + '"]');
          if (el && el.textContent !== parts[name]) el.textContent = parts[name];
        });
        setTimeout(function () { update(box); }, EVERY_MS);
      })
      .catch(function () { setTimeout(function () { update(box); }, EVERY_MS * 3); });
  }

  function start() {
    var boxes = document.querySelectorAll("[data-transcription-progress]");
    Array.prototype.forEach.call(boxes, function (box) {
      var status = box.getAttribute("data-status");
      if (status === "queued" || status === "running") setTimeout(function () { update(box); }, EVERY_MS);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
