"""LiteLLM: completion() against an OpenAI-compatible endpoint, plain and streamed.
OPENAI_BASE_URL / OPENAI_API_KEY come from the environment (litellm's openai/ provider reads both)."""

import os

# Use the bundled model-price map instead of fetching it from GitHub at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

messages = [{"role": "user", "content": "Say hello in French."}]

response = litellm.completion(model="openai/gpt-4o-mini", messages=messages)
print(response.choices[0].message.content)
print(response.usage)

for chunk in litellm.completion(model="openai/gpt-4o-mini", messages=messages, stream=True):
    print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
