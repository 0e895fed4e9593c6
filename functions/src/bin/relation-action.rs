//! The `relation-action` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::relation_action::ENDPOINT)
}
