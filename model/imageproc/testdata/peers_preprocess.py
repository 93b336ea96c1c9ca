# Same-run peers for BenchmarkPreprocessJPEG: transformers' FLAVA image
# processor on one 640×480 JPEG given as a path (decode, 224 bicubic
# pixel_values, 112 Lanczos codebook_pixel_values, normalised), one thread,
# for its torchvision backend (the default) and its PIL backend, and the
# decoders alone (PIL's Image.open + convert("RGB"), torchvision's
# decode_image; both libjpeg-turbo). Prints images/s (wall) and
# images/cpu-s (process CPU time) per case, in the units the Go benchmarks
# report. Needs transformers 5, torch, torchvision
# and Pillow; not used by any test.
#
#   python3 peers_preprocess.py [image] [seconds-per-backend]
import io, os, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch
import transformers
import PIL
import torchvision
from PIL import Image
from torchvision.io import ImageReadMode, decode_image, read_file
from transformers import FlavaImageProcessor, FlavaImageProcessorPil

torch.set_num_threads(1)
path = sys.argv[1] if len(sys.argv) > 1 else "../../../../shared/fixtures/preprocess/images/landscape_640x480_rgb.jpg"
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
print(f"# transformers {transformers.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}, Pillow {PIL.__version__}")


def rate(name, f):
    for _ in range(5):
        f()
    n, w0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - w0 < secs:
        f()
        n += 1
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"{name}: {n} images, {n / wall:.1f} images/s, {n / cpu:.1f} images/cpu-s")


for name, cls in (("torchvision", FlavaImageProcessor), ("pil", FlavaImageProcessorPil)):
    proc = cls(return_codebook_pixels=True)
    out = proc(images=path, return_codebook_pixels=True, return_tensors="pt")
    assert tuple(out["pixel_values"].shape) == (1, 3, 224, 224), out["pixel_values"].shape
    assert tuple(out["codebook_pixel_values"].shape) == (1, 3, 112, 112)
    rate(name, lambda: proc(images=path, return_codebook_pixels=True, return_tensors="pt"))
with open(path, "rb") as fh:
    raw = fh.read()
rate("decode-only pil", lambda: Image.open(io.BytesIO(raw)).convert("RGB").load())
data = read_file(path)
rate("decode-only torchvision", lambda: decode_image(data, mode=ImageReadMode.RGB))
