//! The `relation-friend-list` Lambda function.

fn main() -> std::process::ExitCode {
    functions::lambda::run(&functions::relation_friend_list::ENDPOINT)
}
