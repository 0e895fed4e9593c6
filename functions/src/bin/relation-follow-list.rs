//! The `relation-follow-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::relation_follow_list::ENDPOINT)
}
