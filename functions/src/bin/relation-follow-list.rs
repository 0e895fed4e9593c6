//! The `relation-follow-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::routes::relation_follow_list)
}
