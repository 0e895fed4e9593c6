//! The `favorite-action` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::favorite_action::ENDPOINT)
}
