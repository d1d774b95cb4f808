// Settings › Instagram Messaging: Facebook Login opens in a popup (Add, Reauthorize,
// Add again); when the popup is blocked the page says so and offers the same flow
// in this tab. The popup's last page sends the main window to the list, which
// shows what happened (added, reauthorized, cancelled), and closes itself.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-popup-url]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const popup = window.open(link.dataset.popupUrl, "facebook-login", "width=620,height=720");
      if (popup) {
        popup.focus();
        return;
      }
      const blocked = document.getElementById("popup-blocked");
      if (blocked && blocked.hidden) {
        blocked.hidden = false;
      } else {
        window.location.href = link.dataset.popupUrl;
      }
    });
  });
  const finish = document.getElementById("oauth-finish");
  if (finish) {
    const listUrl = finish.dataset.listUrl;
    if (window.opener && !window.opener.closed) {
      window.opener.location.href = listUrl;
      window.close();
    } else {
      window.location.replace(listUrl);
    }
  }
});
