#!/usr/bin/python3
"""torchvision's side of the RetinaNet benchmarks (Debian 12: /usr/bin/python3, python3-torchvision 0.14.1).

Started by the benchmark runner (dotnet run --project test/Microsoft.ML.RetinaNet.Benchmarks -c Release), which
interleaves it with our measurements. Two modes:

  torchvision_reference.py serve --threads N
      Reads one JSON request per line on stdin and answers one JSON line on stdout:
      {"figure": "train_step", "depth": 50, "size": 512, "batch": 2, "classes": 5, "iterations": 3, "boxes": [[...20 x0 y0 x1 y1...], ...]}
      (optional "bf16": true runs the step under torch.autocast("cpu", dtype=torch.bfloat16))
      {"figure": "inference", "depth": 50, "size": 512, "classes": 5, "images": ["a.png", ...], "iterations": 3}
      {"figure": "nms", "file": "boxes.bin", "count": 20000, "iou": 0.5, "iterations": 20}
      {"figure": "anchors_matching", "size": 512, "boxes": [[...]], "iterations": 20}
      {"figure": "versions"}
      The answer is {"seconds": [one per iteration]} (after "warmup" runs, default 1, per new configuration) or {"error": "..."}.

  torchvision_reference.py peak-memory --threads N --depth 50 --size 512 --batch 2 --steps 3
      Trains a few steps in this fresh process and prints {"peak_rss_mib": ...} (getrusage's ru_maxrss).

The work mirrors ours: RetinaNet v1 (torchvision's retinanet_resnet50_fpn layout, built for any depth), 5 classes,
BatchNorm trainable (no pretrained weights, as torchvision does without weights), SGD lr 0.01 momentum 0.9 weight
decay 1e-4, GeneralizedRCNNTransform fixed to the image size (min_size = max_size = size), so a square image is
not rescaled.
"""
import argparse
import json
import resource
import sys
import time

import torch
import torchvision
from torchvision.io import ImageReadMode, read_image
from torchvision.models import resnet
from torchvision.models.detection import retinanet as tv_retinanet
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import batched_nms, box_iou
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

DEPTHS = {18: resnet.resnet18, 34: resnet.resnet34, 50: resnet.resnet50, 101: resnet.resnet101, 152: resnet.resnet152}


def build_model(depth, classes, size):
    body = DEPTHS[depth](weights=None, norm_layer=torch.nn.BatchNorm2d)
    backbone = _resnet_fpn_extractor(body, 5, returned_layers=[2, 3, 4], extra_blocks=LastLevelP6P7(256, 256))
    torch.manual_seed(0)
    return tv_retinanet.RetinaNet(backbone, classes, min_size=size, max_size=size)


def targets_for(boxes, classes):
    out = []
    for flat in boxes:
        b = torch.tensor(flat, dtype=torch.float32).view(-1, 4)
        out.append({"boxes": b, "labels": torch.arange(b.shape[0], dtype=torch.int64) % classes})
    return out


class TrainStep:
    def __init__(self, request):
        self.model = build_model(request["depth"], request["classes"], request["size"])
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
        g = torch.Generator().manual_seed(1)
        size, batch = request["size"], request["batch"]
        self.images = [torch.rand(3, size, size, generator=g) for _ in range(batch)]
        self.targets = targets_for(request["boxes"][:batch], request["classes"])
        self.bf16 = request.get("bf16", False)

    def run(self):
        self.optimizer.zero_grad()
        # "bf16": torch's CPU autocast, one line for a user: convolutions in bfloat16, losses and optimiser in float32
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(self.bf16)):
            losses = self.model(self.images, self.targets)
        total = sum(losses.values())
        total.backward()
        self.optimizer.step()
        return total.item()


class Inference:
    """Per call: decode the image files, scale to [0, 1], the model's own transform (normalise, resize, batch),
    forward, post-processing (decode, score threshold, top-k, NMS) — torchvision's detection API as users call it."""

    def __init__(self, request):
        self.model = build_model(request["depth"], request["classes"], request["size"])
        self.model.eval()
        self.paths = request["images"]

    def run(self):
        with torch.no_grad():
            images = [read_image(p, ImageReadMode.RGB).float().div_(255) for p in self.paths]
            return self.model(images)


class Nms:
    def __init__(self, request):
        raw = torch.frombuffer(bytearray(open(request["file"], "rb").read()), dtype=torch.float32)
        data = raw.view(request["count"], 6)  # x0 y0 x1 y1 score label
        self.boxes = data[:, :4].contiguous()
        self.scores = data[:, 4].contiguous()
        self.labels = data[:, 5].to(torch.int64)
        self.iou = request["iou"]

    def run(self):
        return batched_nms(self.boxes, self.scores, self.labels, self.iou)


class AnchorsMatching:
    """Anchor generation for one image (a fresh generator: nothing cached) and matching of its boxes, as
    RetinaNet.forward and compute_loss do it."""

    def __init__(self, request):
        size = request["size"]
        self.image_list = ImageList(torch.zeros(1, 3, size, size), [(size, size)])
        levels = []
        n = size
        for _ in range(7):  # the stride-2 steps of ResNet + P6 + P7 map n to ceil(n / 2)
            n = (n + 1) // 2
            levels.append(n)
        self.features = [torch.zeros(1, 256, s, s) for s in levels[2:]]
        self.boxes = torch.tensor(request["boxes"][0], dtype=torch.float32).view(-1, 4)
        self.matcher = Matcher(0.5, 0.4, allow_low_quality_matches=True)

    def run(self):
        sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [32, 64, 128, 256, 512])
        generator = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
        anchors = generator(self.image_list, self.features)[0]
        return self.matcher(box_iou(self.boxes, anchors))


FIGURES = {"train_step": TrainStep, "inference": Inference, "nms": Nms, "anchors_matching": AnchorsMatching}


def serve(threads):
    torch.set_num_threads(threads)
    cache = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            figure = request["figure"]
            if figure == "versions":
                answer = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
                          "python": sys.version.split()[0], "mkldnn": torch.backends.mkldnn.is_available()}
            else:
                key = json.dumps({k: v for k, v in request.items() if k not in ("iterations", "warmup")}, sort_keys=True)
                work = cache.get(key)
                if work is None:
                    cache.clear()  # one configuration alive at a time, as on our side
                    work = FIGURES[figure](request)
                    for _ in range(request.get("warmup", 1)):
                        work.run()
                    cache[key] = work
                seconds = []
                for _ in range(request.get("iterations", 1)):
                    start = time.perf_counter()
                    work.run()
                    seconds.append(time.perf_counter() - start)
                answer = {"seconds": seconds}
        except Exception as e:  # reported to the runner, which stops with it
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


def peak_memory(args):
    torch.set_num_threads(args.threads)
    boxes = json.loads(args.boxes)
    step = TrainStep({"depth": args.depth, "classes": 5, "size": args.size, "batch": args.batch, "boxes": boxes})
    for _ in range(args.steps):
        step.run()
    print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["serve", "peak-memory"])
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--boxes", default="[]")
    args = parser.parse_args()
    if args.mode == "serve":
        serve(args.threads)
    else:
        peak_memory(args)


if __name__ == "__main__":
    main()
