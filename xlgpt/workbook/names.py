"""The defined names of an xlgpt workbook: what the builder names, and what recalc, check, the CLI and the tests
read. A name is the stable way into a workbook; cell positions are the layout's business (grid.py)."""

PROMPT = "Prompt"  # the prompt cell on Start
TOKEN_IDS = "TokenIds"  # the prompt's token ids, one per position (padding after the last)
TOKEN_COUNT = "TokenCount"
TOKEN_ERROR = "TokenError"  # empty, or why the prompt does not fit the workbook
NEXT_TOKEN_ID = "NextTokenId"
NEXT_TOKEN = "NextToken"
TOP_IDS = "TopIds"  # the 10 most likely next tokens, most likely first
TOP_TOKENS = "TopTokens"
TOP_PROBS = "TopProbs"
LOGITS = "Logits"  # the logits over the vocabulary at the last prompt position

ATTR_TARGET = "AttrTarget"  # Attribution: the two token cells whose logit difference is attributed
ATTR_VERSUS = "AttrVersus"
ATTR_TARGET_ID = "AttrTargetId"  # their ids (-1: the text is not one token)
ATTR_VERSUS_ID = "AttrVersusId"
ATTR_HEADS = "AttrHeads"  # [n_layer, n_head]: each head's direct share of the logit difference
ATTR_MLPS = "AttrMlps"  # [n_layer, 1]
ATTR_EMBED = "AttrEmbed"  # [2, 1]: the token embedding's share, the position embedding's
ATTR_SUM = "AttrSum"  # every share plus the ln_f bias term: equals AttrLogitDiff
ATTR_LOGIT_DIFF = "AttrLogitDiff"

FEATURE_IDS = "FeatureIds"  # Features (with --sae): [positions, K] the most active features' ids ("" past them)
FEATURE_ACTS = "FeatureActs"  # [positions, K] their activations
FEATURE_LAYER = "FeatureLayer"  # the block whose residual stream the SAE reads
FEATURE_WATCH = "FeatureWatch"  # the feature followed at every position (typed; empty: the top at the last)
FEATURE_WATCHED = "FeatureWatched"  # [positions, 1] its activation
SAE_ACTIVATIONS = "SaeActivations"  # sae.acts: [features, positions]

HEAD_GATES = "HeadGates"  # Surgery: [n_layer, n_head]
ATTN_GATES = "AttnGates"  # [n_layer, 1]
MLP_GATES = "MlpGates"
STEER_COEF = "SteerCoef"
STEER_FROM = "SteerFrom"
STEER_TO = "SteerTo"


def steer(layer: int) -> str:
    """The steering vector of block `layer`, one row."""
    return f"Steer{layer}"


TOKENIZER = (PROMPT, TOKEN_IDS, TOKEN_COUNT, TOKEN_ERROR)
PREDICTION = (TOKEN_IDS, TOKEN_COUNT, TOP_IDS, TOP_PROBS, LOGITS)  # what recalc shows and --check compares
