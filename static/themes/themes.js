// While themes are being found, ask the server how far it has got and reload when done.
(function () {
  const box = document.querySelector("[data-theme-status]");
  if (!box) return;
  const status = box.dataset.status;
  if (status !== "queued" && status !== "running") return;
  const bar = box.querySelector("progress");
  async function poll() {
    try {
      const response = await fetch(box.dataset.themeStatus, { credentials: "same-origin" });
      const data = await response.json();
      if (bar) { bar.value = data.progress; bar.textContent = data.progress + "%"; }
      if (data.finished) { window.location.reload(); return; }
    } catch (error) { /* try again */ }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
