// The live picture of an interactive figure: JPEG frames from the kernel drawn on a canvas.
//
// ipywidgets' Image view turns every frame into a blob: URL and lets an <img> load and decode
// it on the page's main thread, at paint time. Here createImageBitmap decodes the frame off the
// main thread and drawImage puts it on the canvas at once. A frame that finishes decoding after
// a newer one was drawn is dropped, so the picture never steps backwards.
function render({ model, el }) {
  const canvas = document.createElement("canvas");
  canvas.width = 1;
  canvas.height = 1;
  canvas.setAttribute("role", "img");
  el.classList.add("course-frame");
  el.appendChild(canvas);
  const ctx = canvas.getContext("2d");
  let requested = 0;
  let drawn = 0;

  async function draw() {
    const value = model.get("value");
    if (!value || value.byteLength === 0) return;
    const mine = ++requested;
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([value], { type: "image/jpeg" }));
    } catch (err) {
      return; // not an image: keep the last picture
    }
    if (mine < drawn) {
      bitmap.close();
      return;
    }
    drawn = mine;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      canvas.style.width = `${bitmap.width}px`; // 100 % zoom; CSS shrinks it in a narrow window
      canvas.style.aspectRatio = `${bitmap.width} / ${bitmap.height}`;
    }
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    el.dataset.frames = String(Number(el.dataset.frames || 0) + 1);
    el.dispatchEvent(new CustomEvent("course-frame", { bubbles: true }));
  }

  function label() {
    canvas.setAttribute("aria-label", model.get("alt") || "");
  }

  model.on("change:value", draw);
  model.on("change:alt", label);
  label();
  draw();
  return () => {
    model.off("change:value", draw);
    model.off("change:alt", label);
  };
}

export default { render };
