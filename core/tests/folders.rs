//! A whole job over folders on disk, as the CLI runs it: pass 1's missing
//! cells go to a scratch file, and every output shard is what pass 2 gives
//! the shard when it reads all of it.

use std::fs;

use shardimpute_core::fs::{FolderRun, Folders};
use shardimpute_core::{Control, JobKind, JobType, Pass, Settings};

#[test]
fn a_folder_run_keeps_missing_cells_in_a_file_and_fills_as_reading_in_full() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("data");
    for (split, n) in [("train", 3), ("val", 1), ("test", 1)] {
        fs::create_dir_all(input.join(split)).unwrap();
        for i in 0..n {
            let mut text = String::from("target,x,c\n");
            for r in 0..200 {
                let x = if r % 5 == i {
                    String::new()
                } else {
                    format!("{}.5", r * 3 + i)
                };
                let c = ["a", "NA", "b", "", "\"\""][(r + i) % 5];
                text.push_str(&format!("{},{x},{c}\n", r % 2));
            }
            fs::write(input.join(split).join(format!("part-{i:05}.csv")), text).unwrap();
        }
    }
    let output = dir.path().join("out");
    let artifacts = output.join("model_artifacts");
    let folders = Folders {
        input: &input,
        output: Some(&output),
        artifacts_out: &artifacts,
        artifacts_in: None,
        impute_dict: None,
        splits: None,
        overwrite: false,
    };
    let mut run = FolderRun::open(
        JobKind::Run(JobType::Training),
        Settings::default(),
        folders,
    )
    .unwrap();
    run.run_here(Control::default()).unwrap();
    assert!(run.job().kept_cells_bytes() > 0, "no missing cells kept");
    let job = run.finish("2026-01-01T00:00:00Z").unwrap();
    let dict = job.fill_values().unwrap().clone();
    let mut shards = 0;
    for shard in job.shards(Pass::Fill) {
        let bytes = fs::read(input.join(shard.path())).unwrap();
        let (want, _) =
            shardimpute_core::fill_shard(&shard, bytes, &dict, &Settings::default()).unwrap();
        assert_eq!(
            fs::read(output.join(shard.path())).unwrap(),
            want,
            "{}",
            shard.path()
        );
        shards += 1;
    }
    assert_eq!(shards, 5);
}
