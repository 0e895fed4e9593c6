//! The `relation-action` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::relation_action)
}
