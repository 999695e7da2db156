"""DCI client for the Social Protection Registry (SPEC §8).

`client.RegistryClient` implements `types.RegistryPort`; `dci.DciTransport` is the low-level DCI
transport (envelopes, signatures, token, retries, circuit breaker, CamDX/X-Road).
"""
