// Settings › Instagram Messaging: Facebook Login opens in a popup; when the
// popup is blocked the page says so and offers the same flow in this tab.
document.addEventListener("DOMContentLoaded", () => {
  // Instagram's button, and every other "Add …" that opens Facebook Login (Messenger, WhatsApp).
  document.querySelectorAll("#add-instagram, [data-facebook-login]").forEach((add) => {
    add.addEventListener("click", (event) => {
      const popup = window.open(add.dataset.popupUrl, "facebook-login", "width=620,height=720");
      if (popup) {
        event.preventDefault();
        popup.focus();
      } else {
        event.preventDefault();
        document.getElementById("popup-blocked").hidden = false;
      }
    });
  });
  // The last step inside the popup: refresh the list behind it and close.
  const done = document.getElementById("oauth-done");
  if (done && window.opener && !window.opener.closed) {
    window.opener.location.href = done.dataset.listUrl;
    window.close();
  }
});
