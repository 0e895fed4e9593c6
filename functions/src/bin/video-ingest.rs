//! The `video-ingest` Lambda function (S3 `ObjectCreated` under `uploads/`).

fn main() -> std::process::ExitCode {
    functions::lambda::run_ingest()
}
