// Customer simulator: picking another account or customer shows that thread at once.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-submit-on-change]")) {
    event.target.form.submit();
  }
});
