// Copy buttons for the drafts: shown only where this script runs (plain selectable text without
// it). The Clipboard API needs a secure context; elsewhere the text is selected and copied.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  function say(button, text) {
    button.textContent = text;
    window.setTimeout(function () { button.textContent = "Copy"; }, 1600);
  }
  function selectAndCopy(button, element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    say(button, copied ? "Copied" : "Selected: press Ctrl+C");
  }
  Array.prototype.forEach.call(buttons, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var element = document.getElementById(button.getAttribute("data-copy"));
      if (!element) { return; }
      var text = element.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { say(button, "Copied"); },
          function () { selectAndCopy(button, element); }
        );
      } else {
        selectAndCopy(button, element);
      }
    });
  });
})();
