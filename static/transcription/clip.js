// The clip page while the clip is being made: ask the server every few seconds and update
// the bar and the words; reload once the clip is ready (or has failed) to show the player.
(function () {
  var EVERY_MS = 3000;

  function update(box) {
    fetch(box.getAttribute("data-clip-progress"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
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
        var parts = { message: data.message, label: data.label };
        Object.keys(parts).forEach(function (name) {
          var el = box.querySelector('[data-part="' + name + '"]');
          if (el && el.textContent !== parts[name]) el.textContent = parts[name];
        });
        setTimeout(function () { update(box); }, EVERY_MS);
      })
      .catch(function () { setTimeout(function () { update(box); }, EVERY_MS * 3); });
  }

  function start() {
    var box = document.querySelector("[data-clip-progress]");
    if (box) setTimeout(function () { update(box); }, EVERY_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
