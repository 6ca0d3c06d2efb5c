// The "Print this page" button only works with JavaScript, so it is shown only then.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
