"""The response cache (RESPONSE_CACHE): answers kept per item, in this worker's memory or in a Redis every replica
shares.

keys.py names an item's answer (the model's identity, the item, its parameters); stores.py keeps them (an LRU in
memory, or Redis with a short timeout and a back-off, never an error); response_cache.py answers a model call's
items from the store and sends only the misses through the model.
"""
