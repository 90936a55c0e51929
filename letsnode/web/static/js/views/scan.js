// Scanning a payment request's QR code with the phone's camera. The browser's own
// BarcodeDetector reads it where there is one (Android's Chrome); elsewhere jsQR, shipped
// with the wallet (vendor/jsQR.js, Apache-2.0), reads the frames in a worker so the page
// stays smooth on a cheap phone. A code of this community's wallet opens the payment
// with payee, amount and memo filled in.

import { h } from "../dom.js";
import { t } from "../i18n.js";

const MAX_SIDE = 640; // frames are scaled down to this before decoding

// The address inside a scanned code, if it is a payment request of this wallet.
export function paymentAddress(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.origin !== location.origin || !url.hash.startsWith("#/pay?")) return null;
  return url.hash;
}

async function nativeDetector() {
  if (!("BarcodeDetector" in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes("qr_code")) return null;
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return async (canvas) => {
      const found = await detector.detect(canvas);
      return found.length ? found[0].rawValue : null;
    };
  } catch {
    return null;
  }
}

function workerDetector() {
  const worker = new Worker("/js/qr_worker.js");
  let waiting = null;
  worker.addEventListener("message", (event) => {
    if (waiting) waiting(event.data);
    waiting = null;
  });
  const decode = (image) =>
    new Promise((resolve) => {
      waiting = resolve;
      worker.postMessage({ data: image.data, width: image.width, height: image.height }, [image.data.buffer]);
    });
  decode.stop = () => worker.terminate();
  return decode;
}

export function render(params, ctx) {
  const video = h("video", { class: "camera", muted: true, playsinline: true, "aria-hidden": "true" });
  video.muted = true;
  video.playsInline = true;
  const message = h("p", { class: "field-note", role: "status" });
  const typeInstead = h("a", { class: "button", href: "#/pay", text: t("scan.type_instead") });
  const section = h(
    "section",
    { class: "card" },
    h("h1", { text: t("scan.title") }),
    h("p", { text: t("scan.intro") }),
    h("div", { class: "viewfinder" }, video, h("div", { class: "frame", "aria-hidden": "true" })),
    message,
    h("div", { class: "actions" }, typeInstead),
  );
  let stream = null;
  let stopWorker = null;
  const stop = () => {
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    if (stopWorker) stopWorker();
    stopWorker = null;
  };
  window.addEventListener("hashchange", stop, { once: true });

  const start = async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      message.textContent = t("scan.no_camera");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" } },
        audio: false,
      });
    } catch (error) {
      message.textContent = t(error && error.name === "NotAllowedError" ? "scan.denied" : "scan.no_camera");
      return;
    }
    if (!section.isConnected) {
      stop();
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    message.textContent = t("scan.looking");
    const native = await nativeDetector();
    let decode = native;
    if (!decode) {
      const fromWorker = workerDetector();
      stopWorker = fromWorker.stop;
      decode = async (canvas, context) => fromWorker(context.getImageData(0, 0, canvas.width, canvas.height));
    }
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const frame = async () => {
      if (!section.isConnected || !stream) {
        stop();
        return;
      }
      if (video.videoWidth) {
        const ratio = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * ratio);
        canvas.height = Math.round(video.videoHeight * ratio);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const text = await decode(canvas, context);
        if (text) {
          const address = paymentAddress(text);
          if (address) {
            stop();
            ctx.go(address);
            return;
          }
          message.textContent = t("scan.not_a_request");
        }
      }
      setTimeout(frame, 120);
    };
    frame();
  };
  start();
  return section;
}
