"""The Alexa edge: verification, certificates, ask-sdk handlers, replies, interaction model."""
