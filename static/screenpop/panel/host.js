// The Genesys desktop around the panel, through Genesys's Client App SDK (window.purecloud.apps.ClientApp, served
// from /static/vendor/client-app-sdk/): the lifecycle's `bootstrapped` and toasts. Outside a frame, or when the SDK
// refuses the environment, the panel works without them.

const silentHost = {
  available: false,
  bootstrapped() {},
  toast() {},
  showInteraction() {},
};

export function connectHost(sdkOptions) {
  const ClientApp = globalThis.purecloud?.apps?.ClientApp;
  if (!ClientApp || window.parent === window) return silentHost;
  let app;
  try {
    app = new ClientApp(sdkOptions);
  } catch (error) {
    console.warn("screenpop: the Client App SDK refused the environment; no toasts", error);
    return silentHost;
  }
  let bootstrapped = false;
  return {
    available: true,
    bootstrapped() {
      if (bootstrapped) return;
      bootstrapped = true;
      try {
        app.lifecycle.bootstrapped();
      } catch (error) {
        console.warn("screenpop: lifecycle.bootstrapped failed", error);
      }
    },
    // The desktop shows this interaction (a call the panel just placed, whose own panel then opens).
    showInteraction(conversationId) {
      try {
        app.conversations.showInteractionDetails(conversationId);
      } catch (error) {
        console.warn("screenpop: showInteractionDetails failed", error);
      }
    },
    // type: "info" | "success" | "error". Error toasts stay until dismissed (Genesys's advice).
    toast(id, title, message, type = "info") {
      const options = { id, type, markdownMessage: false, timeout: type === "error" ? 0 : 7, showCloseButton: true };
      try {
        app.alerting.showToastPopup(title, message, options);
      } catch (error) {
        console.warn("screenpop: showToastPopup failed", error);
      }
    },
  };
}
