#!/usr/bin/env python3
"""Checks a model folder or checkpoint written by `jformers train` the way Python loads it, with the standard
library only (no transformers, safetensors or torch needed):

- every *.safetensors file as the safetensors loader validates it (safetensors' Metadata::validate): an 8-byte
  little-endian header length within the file and under 100 MB, a UTF-8 JSON object starting with '{', metadata
  values that are strings, known dtypes, tensors whose data_offsets are contiguous from 0 in offset order, whose
  byte length is the product of the shape times the dtype's size, and whose last byte ends the file; and the
  {"format": "pt"} metadata that transformers' from_pretrained requires of a PyTorch-side file;
- config.json as from_pretrained reads it: model_type and architectures known, id2label keys that int() accepts,
  label2id its inverse, torch_dtype and transformers_version present;
- trainer_state.json as Trainer(resume_from_checkpoint=...) reads it: TrainerState(**json) accepts only its
  fields (those of transformers 4.41 and newer), log_history a list of objects;
- the JSON files that exist parse (tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.json,
  generation_config.json, training_args.json, scheduler.json, rng_state.json); vocab.json comes with merges.txt.
  (A model trained on pre-tokenized rows has no tokenizer files; one trained on text has its tokenizer's.)

Usage: check-checkpoint.py DIR [DIR...]   (prints "ok DIR" per folder; exit status 1 and one line per problem)
"""
import json
import math
import os
import struct
import sys

DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
MAX_HEADER = 100_000_000
MODEL_TYPES = {"bert", "roberta", "distilbert", "gpt2"}
ARCHITECTURES = {
    "bert": {"BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification",
             "BertForTokenClassification", "BertForQuestionAnswering", "BertForMultipleChoice",
             "BertForNextSentencePrediction", "BertLMHeadModel"},
    "roberta": {"RobertaModel", "RobertaForMaskedLM", "RobertaForSequenceClassification",
                "RobertaForTokenClassification", "RobertaForQuestionAnswering", "RobertaForMultipleChoice",
                "RobertaForCausalLM"},
    "distilbert": {"DistilBertModel", "DistilBertForMaskedLM", "DistilBertForSequenceClassification",
                   "DistilBertForTokenClassification", "DistilBertForQuestionAnswering",
                   "DistilBertForMultipleChoice"},
    "gpt2": {"GPT2Model", "GPT2LMHeadModel", "GPT2ForSequenceClassification", "GPT2ForTokenClassification",
             "GPT2DoubleHeadsModel", "GPT2ForQuestionAnswering"},
}
TRAINER_STATE_FIELDS = {"epoch", "global_step", "max_steps", "logging_steps", "eval_steps", "save_steps",
                        "train_batch_size", "num_train_epochs", "num_input_tokens_seen", "total_flos", "log_history",
                        "best_metric", "best_global_step", "best_model_checkpoint", "is_local_process_zero",
                        "is_world_process_zero", "is_hyper_param_search", "trial_name", "trial_params",
                        "stateful_callbacks"}


def check_safetensors(path, problems, model_weights):
    data = open(path, "rb").read()
    if len(data) < 8:
        problems.append(f"{path}: shorter than the 8-byte header length")
        return
    n = struct.unpack("<Q", data[:8])[0]
    if n > MAX_HEADER:
        problems.append(f"{path}: header of {n} bytes, over safetensors' limit of {MAX_HEADER}")
        return
    if 8 + n > len(data):
        problems.append(f"{path}: header length {n} runs past the end of the file ({len(data)} bytes)")
        return
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append(f"{path}: header is not UTF-8 ({e})")
        return
    if not text.startswith("{"):
        problems.append(f"{path}: header does not start with '{{'")
        return
    try:
        header = json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(f"{path}: header is not JSON ({e})")
        return
    if not isinstance(header, dict):
        problems.append(f"{path}: header is not a JSON object")
        return
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        problems.append(f"{path}: __metadata__ must map strings to strings, got {metadata!r}")
    if model_weights and (metadata or {}).get("format") not in ("pt", "tf", "flax", "mlx"):
        problems.append(f"{path}: from_pretrained needs __metadata__.format 'pt', got {metadata!r}")
    tensors = []
    for name, info in header.items():
        if not isinstance(info, dict) or info.get("dtype") not in DTYPE_SIZES:
            problems.append(f"{path}: {name}: unknown dtype in {info!r}")
            continue
        shape, offsets = info.get("shape"), info.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            problems.append(f"{path}: {name}: shape must be a list of sizes, got {shape!r}")
            continue
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) and o >= 0 for o in offsets)):
            problems.append(f"{path}: {name}: data_offsets must be [begin, end], got {offsets!r}")
            continue
        tensors.append((offsets[0], offsets[1], name, info["dtype"], shape))
    tensors.sort()
    end = 0
    for begin, stop, name, dtype, shape in tensors:
        if begin != end or stop < begin:
            problems.append(f"{path}: {name}: data_offsets [{begin}, {stop}] do not follow the previous tensor's end {end}")
        if math.prod(shape) * DTYPE_SIZES[dtype] != stop - begin:
            problems.append(f"{path}: {name}: shape {shape} of {dtype} is {math.prod(shape) * DTYPE_SIZES[dtype]} bytes, "
                            f"data_offsets give {stop - begin}")
        end = stop
    if 8 + n + end != len(data):
        problems.append(f"{path}: the tensors end at byte {8 + n + end}, the file has {len(data)}")


def check_config(path, problems):
    config = json.load(open(path, encoding="utf-8"))
    model_type = config.get("model_type")
    if model_type not in MODEL_TYPES:
        problems.append(f"{path}: model_type {model_type!r} is not one of {sorted(MODEL_TYPES)}")
        return
    architectures = config.get("architectures")
    if not (isinstance(architectures, list) and architectures and set(architectures) <= ARCHITECTURES[model_type]):
        problems.append(f"{path}: architectures {architectures!r} are not {model_type} classes")
    for key in ("torch_dtype", "transformers_version"):
        if not isinstance(config.get(key), str):
            problems.append(f"{path}: no {key}")
    id2label, label2id = config.get("id2label"), config.get("label2id")
    if id2label is not None or label2id is not None:
        if not isinstance(id2label, dict) or not isinstance(label2id, dict):
            problems.append(f"{path}: id2label and label2id must both be objects")
            return
        try:
            ids = {int(k): v for k, v in id2label.items()}      # what PretrainedConfig does with the keys
        except ValueError:
            problems.append(f"{path}: id2label keys must be integers as strings, got {list(id2label)}")
            return
        if sorted(ids) != list(range(len(ids))):
            problems.append(f"{path}: id2label keys must be 0..{len(ids) - 1}, got {sorted(ids)}")
        if {v: k for k, v in ids.items()} != label2id:
            problems.append(f"{path}: label2id {label2id} is not the inverse of id2label {id2label}")


def check_trainer_state(path, problems):
    state = json.load(open(path, encoding="utf-8"))
    unknown = set(state) - TRAINER_STATE_FIELDS
    if unknown:
        problems.append(f"{path}: TrainerState(**json) would refuse the keys {sorted(unknown)}")
    if not isinstance(state.get("global_step"), int):
        problems.append(f"{path}: global_step must be an integer")
    history = state.get("log_history")
    if not (isinstance(history, list) and all(isinstance(e, dict) for e in history)):
        problems.append(f"{path}: log_history must be a list of objects")


def check_folder(folder):
    problems = []
    names = set(os.listdir(folder))
    for name in sorted(names):
        path = os.path.join(folder, name)
        try:
            if name.endswith(".safetensors"):
                check_safetensors(path, problems, model_weights=name.startswith("model"))
            elif name == "config.json":
                check_config(path, problems)
            elif name == "trainer_state.json":
                check_trainer_state(path, problems)
            elif name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                          "generation_config.json", "training_args.json", "scheduler.json", "rng_state.json"):
                json.load(open(path, encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.append(f"{path}: {e}")
    if "model.safetensors" not in names:
        problems.append(f"{folder}: no model.safetensors")
    if "config.json" not in names:
        problems.append(f"{folder}: no config.json")
    if "vocab.json" in names and "merges.txt" not in names:
        problems.append(f"{folder}: vocab.json without merges.txt (a byte-level BPE tokenizer needs both)")
    return problems


def main(folders):
    if not folders:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    failed = False
    for folder in folders:
        problems = check_folder(folder)
        for p in problems:
            print(p)
        if problems:
            failed = True
        else:
            print(f"ok {folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
