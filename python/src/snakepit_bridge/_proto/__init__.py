"""Generated from proto/snakepit/worker/v1/worker.proto. Do not edit."""
