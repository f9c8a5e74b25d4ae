#!/usr/bin/env python3
"""ONNX import checked against PyTorch (Debian python3-torch): models trained briefly on
Fashion-MNIST and written by torch.onnx.export, then read by retrograd.

  check_onnx_torch.py export --dir DIR --opset N
      trains an MLP, a residual model and a residual CNN (below) on 12,000 training images (one
      epoch) and writes DIR/torch_mlp.onnx, DIR/torch_residual.onnx and DIR/torch_cnn.onnx, the
      first 1,000 test images as raw pixels (DIR/test_images.npy; the CNN's as [N, 1, 28, 28]
      scaled to [0, 1], DIR/torch_cnn_inputs.npy) and PyTorch's outputs on them
      (DIR/<name>_outputs.npy)
  check_onnx_torch.py compare --probe ONNX_PROBE --model MODEL --dir DIR --name NAME [--tolerance T]
      runs `onnx_probe predict MODEL` (MODEL: the imported .rg, or the .onnx itself) on
      DIR/NAME_inputs.npy if there is one, else DIR/test_images.npy: every output within T (1e-4) of PyTorch's and the same class for
      every image
"""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np

DATA = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(f"{DATA}/{name}.gz", "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def export(args):
    try:
        import torch
    except ImportError as e:
        sys.exit(f"check_onnx_torch.py needs Debian's python3-torch "
                 f"(scripts/install-deps.sh installs it): {e}")
    torch.manual_seed(3)
    torch.set_num_threads(1)

    class Scale(torch.nn.Module):
        """Raw pixels in, as retrograd's models take them: exported as a Div by 255."""

        def forward(self, x):
            return x / 255.0

    class Residual(torch.nn.Module):
        """A residual block and a branch joined by concatenation: Add and Concat in ONNX."""

        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Linear(784, 64)
            self.block1 = torch.nn.Linear(64, 64)
            self.block2 = torch.nn.Linear(64, 64)
            self.branch = torch.nn.Linear(64, 32)
            self.head = torch.nn.Linear(96, 10)

        def forward(self, x):
            h = torch.relu(self.stem(x / 255.0))
            h = h + self.block2(torch.relu(self.block1(h)))
            return self.head(torch.cat([h, torch.tanh(self.branch(h))], dim=1))

    class ResidualCNN(torch.nn.Module):
        """Every operator of the convolution family as torch.onnx.export writes it: Conv with
        and without bias, BatchNormalization, MaxPool, a residual Add of feature maps, a
        padded AvgPool2d (a Pad, then an AveragePool), GlobalAveragePool, Flatten."""

        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Sequential(
                torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
                torch.nn.MaxPool2d(2))
            self.block = torch.nn.Sequential(
                torch.nn.Conv2d(8, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8),
                torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3, padding=1))
            self.tail = torch.nn.Sequential(
                torch.nn.ReLU(), torch.nn.AvgPool2d(3, stride=2, padding=1),
                torch.nn.Conv2d(8, 16, 3, stride=1, padding=1), torch.nn.ReLU(),
                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Dropout(0.1),
                torch.nn.Linear(16, 10))

        def forward(self, x):
            h = self.stem(x)
            return self.tail(h + self.block(h))

    class BranchCNN(torch.nn.Module):
        """Two branches (3x3 and 1x1 convolutions) joined along the channels, as Inception's
        blocks join theirs (Concat on axis 1 of feature maps), then a depthwise convolution
        (Conv with group = channels)."""

        def __init__(self):
            super().__init__()
            self.wide = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.narrow = torch.nn.Conv2d(1, 4, 1)
            self.tail = torch.nn.Sequential(
                torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.ReLU(),
                torch.nn.MaxPool2d(4), torch.nn.Flatten(), torch.nn.Linear(8 * 7 * 7, 10))

        def forward(self, x):
            joined = torch.cat([torch.relu(self.wide(x)), torch.relu(self.narrow(x))], dim=1)
            return self.tail(joined)

    models = {
        "torch_mlp": torch.nn.Sequential(
            Scale(),
            torch.nn.Linear(784, 128), torch.nn.ReLU(),
            torch.nn.BatchNorm1d(128), torch.nn.Dropout(0.2),
            torch.nn.Linear(128, 64), torch.nn.Tanh(),
            torch.nn.Linear(64, 32), torch.nn.LeakyReLU(0.1),
            torch.nn.Linear(32, 10)),
        "torch_residual": Residual(),
        "torch_cnn": ResidualCNN(),
        "torch_branch_cnn": BranchCNN(),
    }
    x = torch.tensor(idx("train-images-idx3-ubyte")[:12000].reshape(-1, 784), dtype=torch.float32)
    y = torch.tensor(idx("train-labels-idx1-ubyte")[:12000].astype(np.int64))
    images = idx("t10k-images-idx3-ubyte")[:1000].reshape(-1, 784).astype(np.float32)
    labels = idx("t10k-labels-idx1-ubyte")[:1000]
    np.save(f"{args.dir}/test_images.npy", images)
    for name, model in models.items():
        inputs, test = x, images
        if name.endswith("_cnn"):  # images [N, 1, 28, 28] scaled to [0, 1]
            inputs = x.reshape(-1, 1, 28, 28) / 255.0
            test = images.reshape(-1, 1, 28, 28) / np.float32(255)
            np.save(f"{args.dir}/{name}_inputs.npy", test)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
        model.train()
        for start in range(0, len(x), 64):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[start:start + 64]),
                                                     y[start:start + 64])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            outputs = model(torch.from_numpy(test)).numpy()
        np.save(f"{args.dir}/{name}_outputs.npy", outputs)
        torch.onnx.export(model, torch.from_numpy(test[:2]), f"{args.dir}/{name}.onnx",
                          input_names=["pixels"], output_names=["logits"],
                          dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=args.opset,
                          # Keeps BatchNormalization nodes: by default the export folds them
                          # into the convolution before them (the model is in eval mode).
                          training=torch.onnx.TrainingMode.PRESERVE)
        accuracy = float(np.mean(np.argmax(outputs, axis=1) == labels))
        print(f"{name}: PyTorch {torch.__version__}, opset {args.opset}, test accuracy "
              f"{accuracy:.4f} on {len(images)} images")


def compare(args):
    got_path = f"{args.model}.outputs.npy"
    images = f"{args.dir}/{args.name}_inputs.npy"
    if not os.path.exists(images):
        images = f"{args.dir}/test_images.npy"
    subprocess.run([args.probe, "predict", args.model, images, got_path], check=True)
    expected = np.load(f"{args.dir}/{args.name}_outputs.npy")
    got = np.load(got_path)
    if got.shape != expected.shape:
        sys.exit(f"shapes differ: {got.shape} against {expected.shape}: onnx torch check FAILED")
    diff = float(np.max(np.abs(got - expected)))
    same = int(np.sum(np.argmax(got, axis=1) == np.argmax(expected, axis=1)))
    print(f"{args.model} against PyTorch on {len(got)} images: largest output difference "
          f"{diff:.3g}, same class for {same} of {len(got)}")
    if not diff <= args.tolerance or same != len(got):
        sys.exit("onnx torch check FAILED")
    print("onnx torch check passed")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("--dir", required=True)
    e.add_argument("--opset", type=int, default=13)
    c = sub.add_parser("compare")
    c.add_argument("--probe", required=True)
    c.add_argument("--model", required=True)
    c.add_argument("--dir", required=True)
    c.add_argument("--name", default="torch_mlp", help="which PyTorch model's outputs")
    c.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    export(args) if args.command == "export" else compare(args)


if __name__ == "__main__":
    main()
