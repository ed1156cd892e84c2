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
})();
