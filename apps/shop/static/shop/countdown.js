// Progressive enhancement: the server already printed the time left; this only keeps it ticking.
(function () {
  "use strict";
  var box = document.querySelector("[data-countdown-seconds]");
  if (!box) { return; }
  var clock = box.querySelector(".countdown-clock");
  var end = Date.now() + parseInt(box.getAttribute("data-countdown-seconds"), 10) * 1000;
  function tick() {
    var left = Math.max(0, Math.round((end - Date.now()) / 1000));
    if (left === 0) {
      box.classList.add("expired");
      box.textContent = box.getAttribute("data-expired-text");
      return;
    }
    if (clock) {
      var seconds = left % 60;
      clock.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds;
    }
    window.setTimeout(tick, 1000);
  }
  tick();
}());
