//! `template.yaml` against the code: every route of the router has its
//! function with both path spellings, every Lambda bin is deployed, policies
//! name their actions, and the ingest's S3/DLQ/alarm wiring is in place.

use std::collections::BTreeSet;
use std::path::PathBuf;

use functions::routes::ENDPOINTS;
use serde_norway::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The functions as (binary, resource).
fn functions(template: &Value) -> Vec<(String, Value)> {
    let resources = template["Resources"].as_mapping().unwrap();
    resources
        .values()
        .filter(|resource| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|resource| {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
            (binary, resource.clone())
        })
        .collect()
}

/// The (method, path) pairs of a function's HttpApi events.
fn routes(function: &Value) -> BTreeSet<(String, String)> {
    let Some(events) = function["Properties"]["Events"].as_mapping() else { return BTreeSet::new() };
    events
        .values()
        .filter(|event| event["Type"].as_str() == Some("HttpApi"))
        .map(|event| {
            let properties = &event["Properties"];
            (properties["Method"].as_str().unwrap().to_owned(), properties["Path"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn every_route_has_its_function_with_and_without_the_trailing_slash() {
    let template = template();
    let functions = functions(&template);
    for endpoint in ENDPOINTS {
        let (_, function) = functions
            .iter()
            .find(|(binary, _)| binary == endpoint.name)
            .unwrap_or_else(|| panic!("no function builds {}", endpoint.name));
        let method = endpoint.method.as_str().to_owned();
        let expected: BTreeSet<(String, String)> =
            [(method.clone(), endpoint.path.to_owned()), (method, endpoint.path.trim_end_matches('/').to_owned())]
                .into();
        assert_eq!(routes(function), expected, "{}", endpoint.name);
    }
    let fallback = functions.iter().find(|(binary, _)| binary == "route-fallback").unwrap();
    assert!(routes(&fallback.1).contains(&("ANY".to_owned(), "$default".to_owned())));
}

#[test]
fn every_lambda_bin_is_deployed() {
    let deployed: BTreeSet<String> = functions(&template()).into_iter().map(|(binary, _)| binary).collect();
    let bins = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/src/bin")).unwrap();
    for entry in bins {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_owned();
        if name != "douyin-local" {
            assert!(deployed.contains(&name), "{name} is not in template.yaml");
        }
    }
}

#[test]
fn policies_name_their_actions_and_never_grant_data_on_everything() {
    for (binary, function) in functions(&template()) {
        let Some(policies) = function["Properties"]["Policies"].as_sequence() else { continue };
        for policy in policies {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(action) => vec![action.as_str()],
                    Value::Sequence(actions) => actions.iter().map(|a| a.as_str().unwrap()).collect(),
                    other => panic!("{binary}: unexpected Action {other:?}"),
                };
                for action in &actions {
                    assert!(!action.contains('*'), "{binary}: wildcard action {action}");
                }
                assert_ne!(statement["Resource"].as_str(), Some("*"), "{binary}: resource *");
            }
        }
    }
}

#[test]
fn uploads_trigger_the_ingest_with_a_dead_letter_queue_and_an_alarm() {
    let template = template();
    let functions = functions(&template);
    let (_, ingest) = functions.iter().find(|(binary, _)| binary == "video-ingest").unwrap();
    let events = ingest["Properties"]["Events"].as_mapping().unwrap();
    let s3 = events.values().find(|event| event["Type"].as_str() == Some("S3")).expect("an S3 event");
    assert_eq!(s3["Properties"]["Events"].as_str(), Some("s3:ObjectCreated:*"));
    let rules = format!("{:?}", s3["Properties"]["Filter"]);
    assert!(rules.contains("uploads/"), "{rules}");
    let on_failure = &ingest["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
    let alarm = &template["Resources"]["IngestDeadLetterAlarm"];
    assert_eq!(alarm["Type"].as_str(), Some("AWS::CloudWatch::Alarm"));
}

#[test]
fn the_table_in_the_template_matches_the_data_model() {
    use shared::store::model;
    let table = &template()["Resources"]["Table"]["Properties"];
    let text = format!("{table:?}");
    for name in [
        model::PK,
        model::SK,
        model::GSI1,
        model::GSI1_PK,
        model::GSI1_SK,
        model::GSI2,
        model::GSI2_PK,
        model::GSI2_SK,
        model::TTL,
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} missing from the template's table");
    }
}

#[test]
fn chat_queue_dead_letters_alarm_and_partial_batch_responses_are_wired() {
    let template = template();
    let resources = &template["Resources"];
    let queue = &resources["ChatQueue"]["Properties"];
    assert_eq!(queue["FifoQueue"].as_bool(), Some(true));
    let max_receives = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!(max_receives >= 5, "redrive after {max_receives} receives");
    assert_eq!(resources["ChatDeadLetterQueue"]["Properties"]["FifoQueue"].as_bool(), Some(true));
    let alarm = format!("{:?}", resources["ChatDeadLetterAlarm"]["Properties"]);
    assert!(alarm.contains("ChatDeadLetterQueue") && alarm.contains("ApproximateNumberOfMessagesVisible"), "{alarm}");

    let functions = functions(&template);
    let (_, consumer) = functions.iter().find(|(binary, _)| binary == "message-consumer").unwrap();
    let timeout = consumer["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_u64())
        .unwrap();
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    assert!(visibility >= 6 * timeout, "visibility {visibility} s < 6 × {timeout} s");
    let events = consumer["Properties"]["Events"].as_mapping().unwrap();
    let sqs = events.values().find(|event| event["Type"].as_str() == Some("SQS")).expect("an SQS event");
    let responses = format!("{:?}", sqs["Properties"]["FunctionResponseTypes"]);
    assert!(responses.contains("ReportBatchItemFailures"), "{responses}");
    assert!(format!("{:?}", sqs["Properties"]["Queue"]).contains("ChatQueue"));
}
