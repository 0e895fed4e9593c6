//! The `comment-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::comment_list)
}
