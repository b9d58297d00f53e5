"""A BERT sentence encoder written as an ONNX graph straight from its safetensors weights, no torch.

The graph is what sentence-transformers runs for a mean-pooling BERT model: embeddings and
their LayerNorm, the encoder layers (self-attention with the padding mask, exact erf GELU),
mean pooling over the attention mask, L2 normalisation. Its inputs are `input_ids` and
`attention_mask` (int64, batch x tokens); its output `sentence_embedding` (float32, batch x
hidden). Token types are always 0 for one sentence, so their embedding row is folded into the
position table.

Writing the graph by hand, rather than tracing the PyTorch model with `torch.onnx.export`,
is what keeps torch off the machine entirely. Measured on 2 shared cores for all-MiniLM-L6-v2,
each in a fresh process: this build takes 2.4-3.1 s and peaks at 446 MB; importing torch and
sentence-transformers, loading the model and exporting it took 21-24 s and 1.33 GB.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17  # LayerNormalization is a standard op from 17
OUTPUT = "sentence_embedding"
GRAPH_VERSION = 2  # bump when the graph written here changes, so cached copies are built again


class UnsupportedEncoderError(ValueError):
    """The folder holds something other than a mean-pooling BERT encoder with safetensors weights."""


@dataclass(frozen=True)
class BertShape:
    hidden: int
    heads: int
    layers: int
    eps: float
    max_tokens: int  # longer texts are truncated, as sentence-transformers does (its max_seq_length)

    @classmethod
    def of(cls, folder: Path) -> BertShape:
        """Read and check the folder's config.json and pooling; UnsupportedEncoderError says what is wrong."""
        try:
            config = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as err:
            raise UnsupportedEncoderError(f"cannot read {folder / 'config.json'} ({err})") from err
        if not isinstance(config, dict):
            raise UnsupportedEncoderError(f"{folder / 'config.json'} is not a JSON object")
        wanted = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
        for key, value in wanted.items():
            if config.get(key, value) != value:
                raise UnsupportedEncoderError(f"{key} is {config.get(key)!r}, and only {value!r} is written as ONNX here")
        pooling = _pooling_config(folder)
        if not pooling.get("pooling_mode_mean_tokens") or any(
            value for key, value in pooling.items() if key.startswith("pooling_mode_") and key != "pooling_mode_mean_tokens"
        ):
            raise UnsupportedEncoderError("its pooling is not plain mean pooling")
        try:
            positions = int(config.get("max_position_embeddings", 512))
            hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
            layers = int(config["num_hidden_layers"])
            eps = float(config.get("layer_norm_eps", 1e-12))
        except (KeyError, TypeError, ValueError) as err:
            raise UnsupportedEncoderError(f"{folder / 'config.json'} lacks a usable {err}") from err
        try:
            max_tokens = int(json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"])
        except (OSError, ValueError, KeyError, TypeError):
            max_tokens = positions
        return cls(hidden=hidden, heads=heads, layers=layers, eps=eps, max_tokens=min(max_tokens, positions))


def source_key(folder: Path) -> str:
    """What a built graph depends on: this builder's version and the folder's weights and configs (size, mtime)."""
    files = [*sorted(folder.rglob("*.json")), folder / "model.safetensors"]
    stamps = {str(path.relative_to(folder)): _stamp(path) for path in files}
    return json.dumps({"graph": GRAPH_VERSION, "folder": str(folder.resolve()), "files": stamps}, sort_keys=True)


def _stamp(path: Path) -> list[int]:
    try:
        stat = path.stat()
    except OSError:
        return []
    return [stat.st_size, stat.st_mtime_ns]


def build_bert_encoder(folder: Path) -> bytes:
    """The serialised ONNX model of the sentence-transformers BERT folder `folder`."""
    from onnx import TensorProto, helper
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    shape = BertShape.of(folder)
    try:
        weights = load_file(str(folder / "model.safetensors"))
    except (OSError, SafetensorError) as err:
        raise UnsupportedEncoderError(f"cannot read {folder / 'model.safetensors'} ({err})") from err
    graph = _Graph(weights)
    nodes = graph.nodes
    node = helper.make_node

    positions = weights["embeddings.position_embeddings.weight"] + weights["embeddings.token_type_embeddings.weight"][0]
    nodes += [
        node("Gather", [graph.weight("embeddings.word_embeddings.weight"), "input_ids"], ["words"]),
        node("Shape", ["input_ids"], ["length"], start=1, end=2),
        node("Slice", [graph.constant("positions", positions), graph.constant("zero", np.array([0])), "length"], ["pos"]),
        node("Add", ["words", "pos"], ["embedded"]),
    ]
    hidden = graph.layer_norm("embedded", "embeddings.LayerNorm", shape.eps)
    mask = "mask"
    nodes += [
        node("Cast", ["attention_mask"], [mask], to=TensorProto.FLOAT),
        node("Sub", [graph.constant("one", np.float32(1.0)), mask], ["unmasked"]),
        node("Mul", ["unmasked", graph.constant("lowest", np.float32(np.finfo(np.float32).min))], ["bias2d"]),
        node("Unsqueeze", ["bias2d", graph.constant("axes12", np.array([1, 2]))], ["attention_bias"]),
    ]
    for index in range(shape.layers):
        hidden = graph.encoder_layer(hidden, f"encoder.layer.{index}", shape)
    nodes += [
        node("Unsqueeze", [mask, graph.constant("axis2", np.array([2]))], ["mask3d"]),
        node("Mul", [hidden, "mask3d"], ["kept"]),
        node("ReduceSum", ["kept", graph.constant("axis1", np.array([1]))], ["summed"], keepdims=0),
        node("ReduceSum", ["mask3d", "axis1"], ["counts"], keepdims=0),
        node("Max", ["counts", graph.constant("tiny_count", np.float32(1e-9))], ["divisor"]),
        node("Div", ["summed", "divisor"], ["mean"]),
        node("ReduceL2", ["mean"], ["norm"], axes=[1], keepdims=1),
        node("Max", ["norm", graph.constant("tiny_norm", np.float32(1e-12))], ["norm_safe"]),
        node("Div", ["mean", "norm_safe"], [OUTPUT]),
    ]
    tokens = ["batch", "tokens"]
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "sentence_encoder",
            [helper.make_tensor_value_info(name, TensorProto.INT64, tokens) for name in ("input_ids", "attention_mask")],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", shape.hidden])],
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="longshot",
    )
    for name, value in graph.initializers:  # added in place: make_graph would copy 90 MB of weights once more
        tensor = model.graph.initializer.add()
        tensor.name, tensor.data_type, tensor.raw_data = name, helper.np_dtype_to_tensor_dtype(value.dtype), value.tobytes()
        tensor.dims.extend(value.shape)
    return model.SerializeToString()


class _Graph:
    """Collects nodes and initializers; each helper returns the name of the tensor it produced."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.weights = weights
        self.nodes: list[Any] = []
        self.initializers: list[tuple[str, np.ndarray]] = []

    def constant(self, name: str, value: np.ndarray | np.generic) -> str:
        self.initializers.append((name, np.ascontiguousarray(value)))
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        if key not in self.weights:
            raise UnsupportedEncoderError(f"model.safetensors has no tensor {key!r}")
        value = self.weights[key]
        return self.constant(key, np.ascontiguousarray(value.T if transpose else value, dtype=np.float32))

    def linear(self, source: str, prefix: str) -> str:
        from onnx.helper import make_node

        self.nodes += [
            make_node("MatMul", [source, self.weight(f"{prefix}.weight", transpose=True)], [f"{prefix}.product"]),
            make_node("Add", [f"{prefix}.product", self.weight(f"{prefix}.bias")], [f"{prefix}.out"]),
        ]
        return f"{prefix}.out"

    def layer_norm(self, source: str, prefix: str, eps: float) -> str:
        from onnx.helper import make_node

        inputs = [source, self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")]
        self.nodes.append(make_node("LayerNormalization", inputs, [f"{prefix}.out"], axis=-1, epsilon=eps))
        return f"{prefix}.out"

    def encoder_layer(self, source: str, prefix: str, shape: BertShape) -> str:
        from onnx.helper import make_node as node

        head_size = shape.hidden // shape.heads
        split = self.constant(f"{prefix}.split_heads", np.array([0, 0, shape.heads, head_size]))
        merge = self.constant(f"{prefix}.merge_heads", np.array([0, 0, shape.hidden]))
        heads = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            projected = self.linear(source, f"{prefix}.attention.self.{part}")
            self.nodes += [
                node("Reshape", [projected, split], [f"{prefix}.{part}.heads"]),
                node("Transpose", [f"{prefix}.{part}.heads"], [f"{prefix}.{part}.t"], perm=perm),
            ]
            heads[part] = f"{prefix}.{part}.t"
        scale = self.constant(f"{prefix}.scale", np.float32(1.0 / math.sqrt(head_size)))
        self.nodes += [
            node("MatMul", [heads["query"], heads["key"]], [f"{prefix}.scores"]),
            node("Mul", [f"{prefix}.scores", scale], [f"{prefix}.scaled"]),
            node("Add", [f"{prefix}.scaled", "attention_bias"], [f"{prefix}.masked"]),
            node("Softmax", [f"{prefix}.masked"], [f"{prefix}.probs"], axis=-1),
            node("MatMul", [f"{prefix}.probs", heads["value"]], [f"{prefix}.context"]),
            node("Transpose", [f"{prefix}.context"], [f"{prefix}.context.t"], perm=[0, 2, 1, 3]),
            node("Reshape", [f"{prefix}.context.t", merge], [f"{prefix}.context.merged"]),
        ]
        attended = self.linear(f"{prefix}.context.merged", f"{prefix}.attention.output.dense")
        self.nodes.append(node("Add", [attended, source], [f"{prefix}.attention.residual"]))
        attention = self.layer_norm(f"{prefix}.attention.residual", f"{prefix}.attention.output.LayerNorm", shape.eps)
        widened = self.linear(attention, f"{prefix}.intermediate.dense")
        gelu = f"{prefix}.gelu"  # exact GELU, x * (1 + erf(x / sqrt 2)) / 2, in the form onnxruntime fuses into one op
        self.nodes += [
            node("Div", [widened, self.constant(f"{gelu}.sqrt2", np.float32(math.sqrt(2)))], [f"{gelu}.scaled"]),
            node("Erf", [f"{gelu}.scaled"], [f"{gelu}.erf"]),
            node("Add", [f"{gelu}.erf", self.constant(f"{gelu}.one", np.float32(1.0))], [f"{gelu}.shifted"]),
            node("Mul", [widened, f"{gelu}.shifted"], [f"{gelu}.product"]),
            node("Mul", [f"{gelu}.product", self.constant(f"{gelu}.half", np.float32(0.5))], [f"{gelu}.out"]),
        ]
        narrowed = self.linear(f"{gelu}.out", f"{prefix}.output.dense")
        self.nodes.append(node("Add", [narrowed, attention], [f"{prefix}.output.residual"]))
        return self.layer_norm(f"{prefix}.output.residual", f"{prefix}.output.LayerNorm", shape.eps)


def _pooling_config(folder: Path) -> dict[str, Any]:
    """The Pooling module's config.json named by modules.json (sentence-transformers' layout)."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        pooling = next(module for module in modules if module.get("type", "").endswith(".Pooling"))
        return json.loads((folder / pooling.get("path", "") / "config.json").read_text())
    except (OSError, ValueError, StopIteration, AttributeError) as err:
        raise UnsupportedEncoderError(f"no readable Pooling module in {folder / 'modules.json'}") from err
