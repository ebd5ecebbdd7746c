"""Class activation maps (Zhou et al. 2016) as an extra ONNX output of the served model: where it looked.

Each member ends in global average pooling and one linear layer, so its PNEUMONIA logit is the mean over the
last convolutional feature map (a sixteenth of the input's side: 10 x 10 at 160 x 160) of that map weighted by the head: the map weighted
by the head, location by location, is exact evidence, not an approximation. The graph gets, per member, a 1x1
Conv with the head's own weight and bias on the features its global pool reads; the members' maps are averaged
as their logits are, shifted by the threshold folded into the output and divided by its temperature, and resized to the input (bilinear, in the
graph). The value at a location is the logit the served model would give if the whole image looked like that
location: above 0 leans PNEUMONIA, below 0 NORMAL, and the mean over the feature map is the served logit.

The service draws the map as 8-bit grey on one fixed scale for every image (the manifest's `explanation.scale`):
0 (black) at or below logit 0, 255 (white) at or above `white`, the 99th percentile of the map over the training
part's PNEUMONIA images, so a clear NORMAL X-ray's map is mostly dark.

Called by export.py for every trained model, and on its own for a model already exported (`npm run add-cam`):
    .venv/bin/python training/cam.py --tensors training/.cache/tensors --model-dir models/pneumonia-cnn --version 1.3.0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from dataset import Split, load_split, split_by_patient
from gate import FEATURES_OUTPUT, check_same_probabilities, member_heads
from model_step import parse_args, read_manifest, write_manifest

CAM_OUTPUT = "cam"
# Share of the training PNEUMONIA images' map values below the scale's white: the brightest 1 % saturate.
WHITE_PERCENTILE = 99


def add_cam_output(model_path: Path, check_images: np.ndarray, log) -> None:
    """Adds CAM_OUTPUT (batch x 1 x H x W, float32) to the model, and checks on check_images that the probabilities
    and the gate's features are bit for bit what they were. Idempotent: a model that has the output is left alone."""
    kept = ["probabilities", FEATURES_OUTPUT]
    before = run_outputs(model_path, check_images, kept)
    _add_cam_nodes(model_path)
    for name, old, new in zip(kept, before, run_outputs(model_path, check_images, kept)):
        check_same_probabilities(old, new, "the cam output")
        log(f"cam output: {name} of {len(check_images)} images bit for bit unchanged")


def _add_cam_nodes(model_path: Path) -> None:
    model = onnx.load(str(model_path))
    graph = model.graph
    if any(o.name == CAM_OUTPUT for o in graph.output):
        return
    producers = {output: node for node in graph.node for output in node.output}
    linear = member_heads(graph)
    if not linear:
        raise RuntimeError(f"{model_path} has no Gemm or MatMul node: no head to weight the features with")
    nodes, initializers, member_maps = [], [], []
    for i, head in enumerate(linear):
        pooled = _producer_through(producers, head.input[0], ("Flatten", "Reshape"))
        if pooled.op_type != "GlobalAveragePool":
            raise RuntimeError(f"{head.name} does not read a global average pool, so its class activation map is not exact")
        # A head of one output: its weight, [1, C] (Gemm, transB) or [C, 1] (MatMul), holds C values in channel order.
        shape = f"cam_weight_shape_{i}"
        initializers.append(onnx.numpy_helper.from_array(np.array([1, -1, 1, 1], dtype=np.int64), shape))
        nodes.append(onnx.helper.make_node("Reshape", [head.input[1], shape], [f"cam_weight_{i}"], name=f"cam_weight_{i}"))
        bias = [head.input[2]] if head.op_type == "Gemm" and len(head.input) > 2 else []
        nodes.append(onnx.helper.make_node("Conv", [pooled.input[0], f"cam_weight_{i}", *bias], [f"cam_member_{i}"], name=f"cam_member_{i}"))
        member_maps.append(f"cam_member_{i}")
    nodes.append(onnx.helper.make_node("Concat", member_maps, ["cam_members"], axis=1, name="cam_members"))
    nodes.append(onnx.helper.make_node("ReduceMean", ["cam_members"], ["cam_mean"], axes=[1], keepdims=1, name="cam_mean"))
    shifted = _threshold_shift(graph, producers, "cam_mean", nodes)
    height, width = (d.dim_value for d in graph.input[0].type.tensor_type.shape.dim[2:])
    feature_map = _feature_map_size(model, linear[0], producers)
    scales = np.array([1, 1, height / feature_map[0], width / feature_map[1]], dtype=np.float32)
    initializers.append(onnx.numpy_helper.from_array(scales, "cam_scales"))
    # half_pixel is PyTorch's align_corners=False: each cell of the feature map is centred on the block of input it covers.
    nodes.append(onnx.helper.make_node("Resize", [shifted, "", "cam_scales"], [CAM_OUTPUT], mode="linear",
                                       coordinate_transformation_mode="half_pixel", name="cam_resize"))
    graph.node.extend(nodes)
    graph.initializer.extend(initializers)
    graph.output.append(onnx.helper.make_tensor_value_info(CAM_OUTPUT, onnx.TensorProto.FLOAT, ["batch", 1, height, width]))
    onnx.checker.check_model(model)
    onnx.save(model, str(model_path))


def _producer_through(producers: dict, name: str, skip: tuple[str, ...]) -> onnx.NodeProto:
    node = producers[name]
    while node.op_type in skip:
        node = producers[node.input[0]]
    return node


def _threshold_shift(graph: onnx.GraphProto, producers: dict, cam: str, nodes: list) -> str:
    """Applies to the map what the served model does to the averaged logit before its Sigmoid (export.py's
    ServedModel: subtract the folded threshold, then divide by the temperature), so 0 on the map is the decision
    point and the map is in the served logit's units."""
    sigmoid = next((node for node in graph.node if node.op_type == "Sigmoid"), None)
    steps, node = [], sigmoid and producers.get(sigmoid.input[0])
    while node is not None and node.op_type in ("Sub", "Div"):
        steps.insert(0, node)
        node = producers.get(node.input[0])
    if not steps or steps[0].op_type != "Sub":
        raise RuntimeError("the served model has no Sub before its Sigmoid: where is the folded threshold?")
    for i, step in enumerate(steps):
        output = f"cam_shifted_{i}"
        nodes.append(onnx.helper.make_node(step.op_type, [cam, step.input[1]], [output], name=output))
        cam = output
    return cam


def _feature_map_size(model: onnx.ModelProto, head: onnx.NodeProto, producers: dict) -> tuple[int, int]:
    """Height and width of the map a head's global pool reads, from shape inference."""
    pooled = _producer_through(producers, head.input[0], ("Flatten", "Reshape"))
    inferred = onnx.shape_inference.infer_shapes(model)
    for info in inferred.graph.value_info:
        if info.name == pooled.input[0]:
            dims = info.type.tensor_type.shape.dim
            return dims[2].dim_value, dims[3].dim_value
    raise RuntimeError(f"shape inference gives no shape for {pooled.input[0]}")


def run_outputs(model_path: Path, images: np.ndarray, outputs: list[str], batch: int = 256) -> list[np.ndarray]:
    """The named outputs of every image, one thread, as the service runs the model."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    runs = [session.run(outputs, {"image": images[start:start + batch]}) for start in range(0, len(images), batch)]
    return [np.concatenate([run[i] for run in runs]) for i in range(len(outputs))]


def explanation_entry(model_path: Path, train_part: Split, log) -> dict:
    """The manifest's `explanation`: the output, what its values mean, and the fixed 8-bit scale fitted on the
    training part's PNEUMONIA images."""
    (cam,) = run_outputs(model_path, train_part.images[train_part.labels == 1], [CAM_OUTPUT])
    white = float(np.percentile(cam, WHITE_PERCENTILE))
    log(f"cam: white at logit {white:.3f} ({WHITE_PERCENTILE}th percentile of {int((train_part.labels == 1).sum())} "
        f"training PNEUMONIA maps); share of those maps' pixels above 0: {float((cam > 0).mean()):.3f}")
    height, width = int(cam.shape[2]), int(cam.shape[3])
    model = onnx.load(str(model_path))
    producers = {output: node for node in model.graph.node for output in node.output}
    cells = _feature_map_size(model, member_heads(model.graph)[0], producers)
    return {
        "method": "CAM",
        "output": CAM_OUTPUT,
        "width": width,
        "height": height,
        "featureMap": {"width": cells[1], "height": cells[0]},
        "values": ("the ensemble's PNEUMONIA logit, threshold and temperature folded, that each location alone would give (class "
                   f"activation map, Zhou et al. 2016), resized bilinearly to the input; its mean over the {cells[0]} x {cells[1]} "
                   "feature map is the served logit"),
        "scale": {"black": 0.0, "white": white,
                  "rule": f"grey = 255 (v - black) / (white - black), clamped to 0..255 and rounded; white is the "
                          f"{WHITE_PERCENTILE}th percentile of the maps of the training part's PNEUMONIA images"},
    }


def main() -> None:
    args = parse_args(__doc__)
    manifest = read_manifest(args.model_dir)
    full_train, dev = load_split(args.tensors, "train"), load_split(args.tensors, "dev")
    model_path = args.model_dir / manifest["file"]
    add_cam_output(model_path, dev.images, print)
    training = manifest["training"]["args"]
    train_part, _ = split_by_patient(full_train, float(training["validation_fraction"]), int(training["split_seed"]))
    manifest["explanation"] = explanation_entry(model_path, train_part, print)
    write_manifest(args.model_dir, manifest, args.version, f"plus the class activation map output `{CAM_OUTPUT}` (`npm run add-cam`): "
                   "same weights, gate and features; every probability is unchanged. " + manifest.get("versionNote", ""))


if __name__ == "__main__":
    main()
