// salesbot 销售作战室: small progressive enhancement; every page works without it.
(function () {
  "use strict";
  // Filters apply as soon as one is picked.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // ?tv=1: refresh the board's body every minute without reloading the page.
  var stamp = document.getElementById("updated");
  var main = document.getElementById("board-main");
  if (!stamp || !main) return;
  var url = stamp.getAttribute("data-refresh");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          stamp.textContent = "登录已失效，请重新打开大屏链接";
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        main.innerHTML = html;
        var now = new Date();
        stamp.textContent = "更新于 " + String(now.getHours()).padStart(2, "0") + ":" +
          String(now.getMinutes()).padStart(2, "0");
        stamp.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { stamp.textContent = "网络中断，稍后重试"; });
  }
  var every = parseInt(stamp.getAttribute("data-every") || "60000", 10);
  window.setInterval(refresh, every);
  window.salesbotRefresh = refresh;  // the browser tests call it instead of waiting a minute
})();
