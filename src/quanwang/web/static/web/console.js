// Console behaviour that templates ask for with data- attributes, since the
// Content-Security-Policy allows no inline code (no onchange="…").
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form as soon as a choice is made.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
  // <button data-print>: print the page (the 晨会 sheet).
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLElement && target.closest("[data-print]")) {
      window.print();
    }
  });
  // An htmx request answered with an error that is not swapped in (403, 404, 5xx) or that got
  // no answer: say so in a line at the bottom of the page instead of doing nothing.
  // 400 and 422 answers are forms with their errors and are swapped in (base.html).
  function requestFailed() {
    var text = document.body.getAttribute("data-request-failed");
    if (!text || document.querySelector(".request-failed")) {
      return;
    }
    var line = document.createElement("p");
    line.className = "request-failed";
    line.setAttribute("role", "alert");
    line.textContent = text;
    document.body.appendChild(line);
  }
  document.addEventListener("htmx:responseError", requestFailed);
  document.addEventListener("htmx:sendError", requestFailed);
})();
