//! The `comment-action` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::comment_action)
}
