// Settings › Email addresses: the forwarding address's Copy button.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) {
    return;
  }
  const source = document.querySelector(button.dataset.copy);
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.textContent.trim()).then(done);
  } else {
    // Plain http on another host: select the text so Ctrl-C copies it.
    window.getSelection().selectAllChildren(source);
  }
});
