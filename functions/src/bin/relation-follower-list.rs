//! The `relation-follower-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::relation_follower_list::ENDPOINT)
}
