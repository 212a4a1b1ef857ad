// Talking to `digits serve`: one read at a time (a newer one, or Clear, cancels the one in flight),
// tried again while the server cannot be reached, and photos shrunk to what the server reads.
"use strict";

const RETRY_MS = 2000;  // how often a server that could not be reached is tried again
const JPEG_QUALITY = 0.92;  // a shrunk photo's: high enough that thin strokes keep their edges

let inFlight = null;  // the AbortController of the read in flight

export function cancelRead() {
  if (inFlight) inFlight.abort();
  inFlight = null;
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

async function answerOf(response) {
  try {
    return await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    return { error: `the server answered ${response.status} ${response.statusText}, not a reading` };
  }
}

// POST `blob` as the file `name` to `path`: {ok, answer}, or null if cancelled by a newer read.
// `waiting()` is called each time the server cannot be reached, before the next try.
export async function read(path, blob, name, waiting) {
  cancelRead();
  const mine = new AbortController();
  inFlight = mine;
  for (;;) {
    const form = new FormData();
    form.append("file", blob, name);
    try {
      const response = await fetch(path, { method: "POST", body: form, signal: mine.signal });
      const answer = await answerOf(response);
      if (inFlight !== mine) return null;
      inFlight = null;
      return { ok: response.ok, answer };
    } catch (error) {
      if (mine.signal.aborted) return null;
      waiting();
      await pause(RETRY_MS, mine.signal);
      if (mine.signal.aborted) return null;
    }
  }
}

// A canvas as an image file. Not canvas.toBlob: Chromium encodes that in idle time, which a busy
// or headless page may not have for a second.
export function canvasPicture(canvas, type = "image/png", quality = undefined) {
  const bytes = atob(canvas.toDataURL(type, quality).split(",")[1]);
  return new Blob([Uint8Array.from(bytes, (c) => c.charCodeAt(0))], { type });
}

// GET JSON, tried again until the server answers.
export async function getJson(path, waiting) {
  for (;;) {
    try {
      const response = await fetch(path);
      if (response.ok) return await response.json();
    } catch (error) {
      // not reachable: tried again below
    }
    waiting();
    await pause(RETRY_MS);
  }
}

// The photo to send, as `{blob, bitmap, shrunk}` (the share of its size sent): shrunk in the browser when larger than the server reads
// (`limits.read_side` a side) or takes (`limits.max_pixels` in all, `limits.body_bytes`); the bitmap is null when the browser
// cannot decode it, and the file goes as it is, for the server to say what is wrong with it.
export async function fitted(file, limits) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (error) {
    return { blob: file, bitmap: null, shrunk: 1 };
  }
  const pixels = bitmap.width * bitmap.height;
  const scale = Math.min(1, limits.read_side / Math.max(bitmap.width, bitmap.height), Math.sqrt(limits.max_pixels / pixels));
  if (scale === 1 && file.size <= limits.body_bytes) return { blob: file, bitmap, shrunk: 1 };
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.floor(bitmap.width * scale));  // down: never a pixel over the limits
  canvas.height = Math.max(1, Math.floor(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = canvasPicture(canvas, "image/jpeg", JPEG_QUALITY);
  return { blob, bitmap, shrunk: canvas.width / bitmap.width };
}
