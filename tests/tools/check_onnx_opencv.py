#!/usr/bin/env python3
"""ONNX export checked outside retrograd: onnx.checker (Debian python3-onnx) accepts each model
and OpenCV's dnn (python3-opencv) runs it on the same test images as retrograd: every output
within --tolerance of retrograd's and the same class for every image.

  check_onnx_opencv.py --dir DIR MODEL...   (DIR holds MODEL.onnx, MODEL_outputs.npy and
                                             test_images.npy, or MODEL_inputs.npy for a model
                                             of other inputs, as onnx_probe models writes them)
"""
import argparse
import os
import sys

import numpy as np

try:
    import cv2
    import onnx
except ImportError as e:
    sys.exit(f"check_onnx_opencv.py needs Debian's python3-onnx and python3-opencv "
             f"(scripts/install-deps.sh installs them): {e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("models", nargs="+")
    args = parser.parse_args()

    images = np.load(f"{args.dir}/test_images.npy")
    failed = False
    for name in args.models:
        path = f"{args.dir}/{name}.onnx"
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opset = model.opset_import[0].version
        print(f"{name}: onnx.checker passed (opset {opset}, IR version {model.ir_version}, "
              f"{len(model.graph.node)} nodes)")

        expected = np.load(f"{args.dir}/{name}_outputs.npy")
        inputs = images
        if os.path.exists(f"{args.dir}/{name}_inputs.npy"):  # images as NCHW, scaled
            inputs = np.load(f"{args.dir}/{name}_inputs.npy")
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(inputs.astype(np.float32))
        got = net.forward()
        if got.shape != expected.shape:
            print(f"{name}: OpenCV gives shape {got.shape}, retrograd {expected.shape}")
            failed = True
            continue
        diff = float(np.max(np.abs(got - expected)))
        same = int(np.sum(np.argmax(got, axis=1) == np.argmax(expected, axis=1)))
        print(f"{name}: OpenCV dnn {cv2.__version__} on {len(images)} images: largest output "
              f"difference {diff:.3g}, same class for {same} of {len(images)}")
        if not diff <= args.tolerance or same != len(images):
            failed = True
    if failed:
        sys.exit("onnx opencv check FAILED")
    print("onnx opencv check passed")


if __name__ == "__main__":
    main()
