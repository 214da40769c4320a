# vLLM for Airlock model servers: the upstream OpenAI-compatible server, pinned by digest,
# run as a non-root user. Mirror the result into the stack's registry for airgapped stacks.
#   docker build -f images/vllm.Dockerfile -t $REGISTRY/vllm-openai:v0.31.0 images/
FROM vllm/vllm-openai:v0.31.0@sha256:c1c9f6fd5c109ba7f0546a59f5b2f15fb87f64c77782e90a27b648b42a8e67c3
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin vllm
USER 10001:10001
# HF_HOME points at the model cache volume the Deployment mounts.
ENV HF_HOME=/models/.cache/huggingface VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]
