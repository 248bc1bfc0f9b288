// Runs before the first paint (a same-origin file, as the CSP allows no inline script): the saved theme, else the
// system's, so a dark-mode user never sees a white flash.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("gptapi.theme"); } catch (e) { /* storage blocked: use the system theme */ }
  var dark = saved ? saved === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.classList.toggle("dark", dark);
})();
