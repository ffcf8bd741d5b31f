// Clerk workstation (docs/web.md, "Clerk workstation"). Discourages copying personal data where the browser
// allows, and locks the page after the session's idle timeout without input. Neither is a security boundary:
// the ledger records every read, and the server's session idle timeout is the real control.
(function () {
    "use strict";
    var root = document.getElementById("workstation");
    if (!root) {
        return;
    }

    var block = function (event) { event.preventDefault(); };
    document.querySelectorAll(".personal-data").forEach(function (area) {
        ["copy", "cut", "contextmenu", "dragstart"].forEach(function (type) { area.addEventListener(type, block); });
    });

    var seconds = parseInt(root.getAttribute("data-idle-seconds"), 10);
    var lockUrl = root.getAttribute("data-lock-url");
    if (!(seconds > 0) || !lockUrl) {
        return;
    }

    var timer = 0;
    var arm = function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () { window.location.assign(lockUrl); }, seconds * 1000);
    };
    ["keydown", "pointerdown", "wheel", "touchstart", "input"].forEach(function (type) {
        document.addEventListener(type, arm, { passive: true, capture: true });
    });
    arm();
}());
