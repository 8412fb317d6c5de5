"""CodeVoice interviewer agent: a livekit-agents worker that runs a Pipecat interview pipeline."""

from agent.offline import enforce_offline_models

# Before any Pipecat import: pipecat.utils.string would otherwise try to download NLTK data.
enforce_offline_models()
