import json

from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer

from hf_serving.loading.source import has_random_weights
from hf_serving.tools.demo_models import main


def test_full_demo_model_has_the_real_architecture_size_and_vocabulary(tmp_path):
    out = tmp_path / "demo"
    assert main(["--task", "question-answering", "--size", "full", "-o", str(out)]) == 0
    config = AutoConfig.from_pretrained(out)
    assert (config.dim, config.n_layers, config.n_heads, config.hidden_dim) == (768, 6, 12, 3072)
    assert (config.vocab_size, config.max_position_embeddings) == (30522, 512)
    model = AutoModelForQuestionAnswering.from_pretrained(out)
    assert 66_000_000 < sum(p.numel() for p in model.parameters()) < 67_000_000
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.is_fast and len(tokenizer) == 30522
    # bert-base-uncased's own ids: [CLS] hello world [SEP]
    assert tokenizer("Hello World")["input_ids"] == [101, 7592, 2088, 102]
    assert has_random_weights(out)
    assert json.loads((out / "RANDOM_WEIGHTS").read_text())["size"] == "full"
    assert all(oct(path.stat().st_mode)[-3:] == "644" for path in out.iterdir())
