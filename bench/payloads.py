"""The benchmark's fixed request bodies: QA at ~160 and ~380 tokens, classification at ~60, sentence
embeddings of one and of eight ~60-token texts, and the encoder tasks of issue 27: token classification of a
~128-token news text (aggregation "simple"), zero-shot classification of the ~60-token review against 5
candidate labels, and reranking 20 ~70-token passages against one query.

Token counts are what the model sees (question + context + [CLS]/[SEP], or text + [CLS]/[SEP]) with the
model's own tokenizer: the demo models' real uncased vocabulary, and all-MiniLM-L6-v2's for the embeddings;
`check_token_counts` verifies them before every run, so that an edit of the text cannot silently move a
request out of its size class or past the 384-token QA window. Every server gets the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

QA_WINDOW = 384

QUESTION = "When did the harbour bridge open to traffic?"

# A plain encyclopaedic passage; the answer sits in its first sentences so that both sizes contain it.
PASSAGE = (
    "The harbour bridge was opened to traffic on 19 March 1932, after eight years of construction.",
    "It carries rail, vehicular, bicycle and pedestrian traffic between the business district and the north shore.",
    "The arch was built from both shores at once, and the two halves were joined in August 1930.",
    "About 1,400 workers took part in the work, and sixteen of them lost their lives during construction.",
    "The steel came mostly from England, while the granite for the pylons was quarried near the south coast.",
    "Six million hand-driven rivets hold the arch together, and the largest weigh more than three kilograms each.",
    "The deck is forty-nine metres wide, which made it the widest long-span bridge in the world for decades.",
    "Tolls were charged in both directions at first; today drivers pay only when they travel towards the city.",
    "Painting the bridge is a task that never ends, and a full coat needs about thirty thousand litres of paint.",
    "Since 1998 visitors have been able to climb the upper arch in guided groups wearing harnesses and grey suits.",
    "On New Year's Eve the arch becomes the centre of a fireworks display watched by more than a million people.",
    "A tunnel under the harbour was opened in 1992 to relieve the congestion that had grown on the bridge itself.",
    "Engineers inspect the structure continuously, using sensors that report vibration, strain and temperature.",
    "The pylons at each end are not needed to carry the load; they were added to reassure a doubtful public.",
    "During the opening ceremony a man on horseback cut the ribbon with his sword before the premier could do so.",
    "The bridge appears on stamps, coins and countless postcards, and locals have long called it the coat hanger.",
    "In hot weather the arch expands by up to eighteen centimetres, and hinges at its base let it move freely.",
    "Trains crossed for the first time a few weeks before the public opening, to test the load on the deck.",
    "A museum inside the south-east pylon tells the story of the people who designed and built the crossing.",
    "Buses, taxis and cyclists now share the crossing with about one hundred and sixty thousand cars a day.",
    "Maintenance crews replace worn rivets and repaint sections one after another through every season.",
    "Historians still argue about who deserves most credit for the design, the engineer or the builders.",
    "Several films have used the bridge as a backdrop, and its silhouette is known around the world.",
    "Ferries pass beneath the arch all day long, carrying commuters to the wharves on both sides.",
    "At night the arch is lit in changing colours to mark festivals, sporting events and national days.",
)

REVIEW = (
    "I bought this coffee grinder after my old one broke, and I have mixed feelings about it. "
    "The grind is consistent and it is much quieter than I expected, but the hopper is small and the lid "
    "does not close properly. Cleaning it takes far too long. For the price, I hoped for better."
)


# Eight different texts of ~60 tokens each (help-desk, news, product and recipe sentences), as an embeddings
# service indexes them: emb1 sends the first, emb8 all eight in one request.
TEXTS = (
    "Our return policy lets you send back any unopened item within thirty days of delivery for a full refund. "
    "Opened items can be exchanged for store credit, provided they are undamaged and come with the original "
    "receipt and packaging. Shipping costs for returns are paid by the customer.",
    "To reset your password, open the sign-in page, choose the forgotten password link and enter the email "
    "address on your account. We will send a link that stays valid for one hour; after that you will need "
    "to request a new one from the same page on your phone or computer.",
    "The museum is open from ten in the morning until six in the evening every day except Monday. Guided "
    "tours in English leave the main hall at eleven and at three, and tickets for them can be bought at the "
    "front desk or online up to a week in advance of your visit.",
    "Heavy rain is expected across the northern valleys tonight, with up to forty millimetres in places and "
    "a serious risk of local flooding near the rivers. Drivers are advised to avoid the mountain passes until "
    "the roads have been checked by the highway crews early tomorrow morning, probably before eight.",
    "The new laptop has a fourteen-inch screen, sixteen gigabytes of memory and a battery that lasts about "
    "eleven hours of video playback. It weighs just under one and a half kilograms and charges through either "
    "of its two ports, from empty to full in about ninety minutes.",
    "Preheat the oven to one hundred and eighty degrees, then mix the flour, sugar and butter until the "
    "dough is smooth. Roll it out thinly, cut it into rounds and bake them for twelve minutes, until the "
    "edges turn golden. Let them cool before serving.",
    "The city council approved a plan to add two hundred kilometres of protected bicycle lanes over the next "
    "five years. The first routes will connect the central station with the university and the hospital "
    "on the eastern side of the river, and work on them starts in the spring of next year.",
    "Customers on the annual plan can add up to five team members at no extra cost. Each member gets their "
    "own login, shared folders and a separate storage quota, and the account owner can remove access at any "
    "time from the settings page, without contacting our support team.",
)

# Token classification: a news paragraph dense with people, places and organisations, as NER services tag them.
NEWS = (
    "Maria Schmidt, the chief executive of Nordwind Energy, met Prime Minister Daniel Okafor in Lisbon on Tuesday "
    "to sign an agreement on offshore wind farms along the Atlantic coast. Officials from the European Commission "
    "and the Portuguese grid operator REN joined the talks, which had begun in Brussels last spring. Okafor said "
    "the first turbines near Porto could deliver power by 2029, while Schmidt announced that Nordwind would open "
    "an engineering office in Madrid and hire two hundred people there. Environmental groups such as Oceana "
    "welcomed the plan but asked the government to protect the fishing towns between Aveiro and Figueira da Foz."
)
NER_ENTITY_KEYS = {"entity_group", "score", "word", "start", "end"}  # the pipeline's answer with an aggregation

# Zero-shot classification: the review against five topics, with the pipeline's default hypothesis template.
ZERO_SHOT_LABELS = ("quality", "price", "noise", "cleaning", "delivery")
HYPOTHESIS_TEMPLATE = "This example is {}."

# Reranking: the QA question against 20 passages of three consecutive sentences each (a retriever's top 20).
RERANK_PASSAGES = tuple(" ".join(PASSAGE[start : start + 3]) for start in range(20))

# Fill-mask: the review with one word masked ("quieter"), the pipeline's default top_k (5).
MASKED_WORD = "quieter"
FILL_MASK_KEYS = {"score", "token", "token_str", "sequence"}

# Which model (bench/servers.py MODEL_DIRS) serves each request kind, and the token range of each sequence (for
# zsl5 and rerank20 each pair: text + hypothesis, query + passage).
KIND_MODELS = {
    "qa160": "qa",
    "qa380": "qa",
    "clf60": "clf",
    "emb1": "emb",
    "emb8": "emb",
    "ner128": "ner",
    "zsl5": "nli",
    "rerank20": "rerank",
    "fill60": "mlm",
    "host60": "host",
}
EXPECTED_TOKENS = {
    "qa160": (150, 170),
    "host60": (60, 70),
    "qa380": (370, QA_WINDOW),
    "clf60": (50, 70),
    "emb1": (50, 70),
    "emb8": (50, 70),
    "ner128": (120, 136),
    "zsl5": (60, 80),
    "rerank20": (60, 90),
    "fill60": (55, 70),
}


@dataclass(frozen=True)
class RequestKind:
    name: str  # qa160, qa380, clf60, emb1, emb8, ner128, zsl5, rerank20, fill60, host60
    model: str  # "qa", "clf", "emb", "ner", "nli", "rerank", "mlm" or "host": which model directory serves it
    body: bytes
    tokens: int  # as the model sees it; for several texts (or pairs), the longest of them
    description: str
    lengths: tuple[int, ...] = ()  # embeddings: the tokens of each text; zsl5, rerank20: of each pair the model reads
    dim: int | None = None  # embeddings: the size of every vector in the answer (None: any, all equal)

    @property
    def texts(self) -> int:
        """Sequences per request: what a request is worth in seq/s."""
        return len(self.lengths) or 1


def _tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _context(tokenizer, target: int) -> tuple[str, int]:
    """The longest prefix of PASSAGE (whole sentences) whose QA sequence stays within `target` tokens."""
    context, tokens = "", 0
    for sentence in PASSAGE:
        candidate = f"{context} {sentence}".strip()
        length = len(tokenizer.encode(QUESTION, candidate).ids)
        if length > target:
            break
        context, tokens = candidate, length
    return context, tokens


def _embedding_dim(model_dir: Path) -> int | None:
    """The size of a sentence-transformers model's vectors, from its pooling module's config."""
    pooling = model_dir / "1_Pooling" / "config.json"
    return json.loads(pooling.read_text()).get("word_embedding_dimension") if pooling.exists() else None


def build(model_dirs: Mapping[str, Path]) -> dict[str, RequestKind]:
    """The request kinds of every model in `model_dirs` (servers.MODEL_DIRS' keys), token counts checked."""
    kinds = {}
    if "qa" in model_dirs:
        qa_tokenizer = _tokenizer(model_dirs["qa"])
        for name, target in (("qa160", 164), ("qa380", 382)):
            context, tokens = _context(qa_tokenizer, target)
            body = json.dumps({"inputs": {"question": QUESTION, "context": context}}).encode()
            kinds[name] = RequestKind(name, "qa", body, tokens, f"QA, {tokens} tokens (one window)")
    if "clf" in model_dirs:
        clf_tokens = len(_tokenizer(model_dirs["clf"]).encode(REVIEW).ids)
        kinds["clf60"] = RequestKind(
            "clf60", "clf", json.dumps({"inputs": REVIEW}).encode(), clf_tokens, f"classification, {clf_tokens} tokens"
        )
    if "host" in model_dirs:
        tokens = len(_tokenizer(model_dirs["host"]).encode(REVIEW).ids)
        kinds["host60"] = RequestKind(
            "host60",
            "host",
            json.dumps({"inputs": REVIEW}).encode(),
            tokens,
            f"classification on a tiny model, {tokens} tokens: the serving stack's own cost",
        )
    if "emb" in model_dirs:
        emb_tokenizer, dim = _tokenizer(model_dirs["emb"]), _embedding_dim(model_dirs["emb"])
        lengths = tuple(len(emb_tokenizer.encode(text).ids) for text in TEXTS)
        kinds["emb1"] = RequestKind(
            "emb1",
            "emb",
            json.dumps({"inputs": TEXTS[0]}).encode(),
            lengths[0],
            f"sentence embeddings, one text of {lengths[0]} tokens",
            lengths[:1],
            dim,
        )
        kinds["emb8"] = RequestKind(
            "emb8",
            "emb",
            json.dumps({"inputs": list(TEXTS)}).encode(),
            max(lengths),
            f"sentence embeddings, {len(TEXTS)} texts of {min(lengths)}-{max(lengths)} tokens in one request",
            lengths,
            dim,
        )
    if "ner" in model_dirs:
        tokens = len(_tokenizer(model_dirs["ner"]).encode(NEWS).ids)
        body = json.dumps({"inputs": NEWS, "parameters": {"aggregation_strategy": "simple"}}).encode()
        kinds["ner128"] = RequestKind(
            "ner128", "ner", body, tokens, f"token classification, {tokens} tokens, aggregation simple"
        )
    if "nli" in model_dirs:
        nli_tokenizer = _tokenizer(model_dirs["nli"])
        lengths = tuple(
            len(nli_tokenizer.encode(REVIEW, HYPOTHESIS_TEMPLATE.format(label)).ids) for label in ZERO_SHOT_LABELS
        )
        body = json.dumps({"inputs": REVIEW, "parameters": {"candidate_labels": list(ZERO_SHOT_LABELS)}}).encode()
        kinds["zsl5"] = RequestKind(
            "zsl5",
            "nli",
            body,
            max(lengths),
            f"zero-shot, one text x {len(ZERO_SHOT_LABELS)} candidate labels ({max(lengths)} tokens per pair)",
            lengths,
        )
    if "rerank" in model_dirs:
        rerank_tokenizer = _tokenizer(model_dirs["rerank"])
        lengths = tuple(len(rerank_tokenizer.encode(QUESTION, passage).ids) for passage in RERANK_PASSAGES)
        # TEI's own rerank body, which TEI (and ours) take on /invocations, and peer (d) on /invocations and /rerank
        body = json.dumps({"query": QUESTION, "texts": list(RERANK_PASSAGES)}).encode()
        kinds["rerank20"] = RequestKind(
            "rerank20",
            "rerank",
            body,
            max(lengths),
            f"reranking, one query x {len(RERANK_PASSAGES)} passages ({min(lengths)}-{max(lengths)} tokens per pair)",
            lengths,
        )
    if "mlm" in model_dirs:
        mask = json.loads((model_dirs["mlm"] / "tokenizer_config.json").read_text())["mask_token"]
        text = REVIEW.replace(MASKED_WORD, mask, 1)
        tokens = len(_tokenizer(model_dirs["mlm"]).encode(text).ids)
        kinds["fill60"] = RequestKind(
            "fill60", "mlm", json.dumps({"inputs": text}).encode(), tokens, f"fill-mask, {tokens} tokens, one mask"
        )
    check_token_counts(kinds)
    return kinds


def check_token_counts(kinds: Mapping[str, RequestKind]) -> None:
    for name, kind in kinds.items():
        low, high = EXPECTED_TOKENS[name]
        for tokens in kind.lengths or (kind.tokens,):
            if not low <= tokens <= high:
                raise ValueError(
                    f"request {name} has a sequence of {tokens} tokens, outside {low}-{high}: edit bench/payloads.py"
                )


def _vector(value: object, dim: int | None) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and (dim is None or len(value) == dim)
        and all(isinstance(x, float | int) and not isinstance(x, bool) for x in value)
    )


def _zero_shot_answer(payload: object, labels: int) -> bool:
    answer = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
    return (
        isinstance(answer, dict)
        and {"sequence", "labels", "scores"} <= answer.keys()
        and len(answer["labels"]) == len(answer["scores"]) == labels
    )


def _ranking(payload: object, texts: int) -> bool:
    return (
        isinstance(payload, list)
        and len(payload) == texts
        and all(isinstance(row, dict) and {"index", "score"} <= row.keys() for row in payload)
        and sorted(row["index"] for row in payload) == list(range(texts))
    )


def valid_response(kind: RequestKind, payload: object) -> bool:
    """The answer has the shape every server promises: a QA answer object, one label with a score, one
    vector per text (for a single text, a bare vector is taken too) all of the same size, a list of entities
    (the pipeline's aggregated shape; a random-weights model may find none), the zero-shot object with one score
    per candidate label, TEI's ranking of every text, or the fill-mask pipeline's five proposals for one mask."""
    if kind.model == "ner":
        return isinstance(payload, list) and all(isinstance(e, dict) and NER_ENTITY_KEYS <= e.keys() for e in payload)
    if kind.model == "nli":
        return _zero_shot_answer(payload, kind.texts)
    if kind.model == "rerank":
        return _ranking(payload, kind.texts)
    if kind.model == "mlm":  # the pipeline's answer to one mask: its top 5 tokens
        return (
            isinstance(payload, list)
            and len(payload) == 5
            and all(isinstance(e, dict) and FILL_MASK_KEYS <= e.keys() for e in payload)
        )
    if kind.model == "emb":
        vectors = [payload] if kind.texts == 1 and _vector(payload, kind.dim) else payload
        return (
            isinstance(vectors, list)
            and len(vectors) == kind.texts
            and all(_vector(vector, kind.dim) for vector in vectors)
            and len({len(vector) for vector in vectors}) == 1
        )
    if kind.model == "qa":
        answer = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
        return isinstance(answer, dict) and {"answer", "score", "start", "end"} <= answer.keys()
    label = payload[0] if isinstance(payload, list) and len(payload) == 1 else payload
    return isinstance(label, dict) and {"label", "score"} <= label.keys()
