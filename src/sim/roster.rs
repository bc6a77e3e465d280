//! Who is on the simulated floor: agent ids, display names, teams and skills.
//!
//! Names matter more than they seem: a wallboard full of `Agent 17` hides layout
//! bugs that real names (wide CJK glyphs next to long Latin ones) expose, so the
//! roster mixes Chinese and English names and never repeats one below 7,000 agents.

use std::sync::Arc;

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

const CN_SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田",
    "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚",
    "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "付", "方", "白",
    "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "闫", "段", "雷", "侯", "龙", "史", "陶", "黎", "贺",
    "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "覃", "武", "戴", "莫", "孔", "向", "汤", "欧阳", "司马",
];

const CN_GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀兰", "霞", "平", "刚", "桂英", "浩", "宇", "欣怡", "子涵", "梓轩", "雨桐", "思远", "佳怡",
    "俊杰", "晨", "婷", "雪", "鑫", "波", "斌", "辉", "玲", "宁", "凯", "鹏", "华", "飞", "琳", "颖", "欢",
    "建华", "建国", "志强", "海燕", "晓燕", "慧", "文", "博", "一鸣", "嘉怡", "雅婷", "子墨", "诗涵", "浩然",
    "梦琪", "天佑", "若曦",
];

const EN_GIVEN: &[&str] = &[
    "Emily", "David", "Grace", "Kevin", "Sophie", "Jason", "Linda", "Michael", "Amy", "Daniel", "Jessica",
    "Eric", "Cindy", "Tony", "Helen", "Peter", "Vivian", "Andy", "Iris", "Frank", "Olivia", "Ryan", "Chloe",
    "Steven", "Wendy", "Alex", "Fiona", "Brian", "Karen", "Leo", "Nina", "Oscar", "Rachel", "Sam", "Tina",
    "Victor", "Yvonne", "Zoe", "Henry", "Joyce",
];

const EN_SURNAMES: &[&str] = &[
    "Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Zhao", "Wu", "Zhou", "Lin", "Lee", "Wong", "Tan", "Lim",
    "Ng", "Ho", "Lau", "Cheung", "Chan", "Smith", "Brown", "Taylor", "Walker", "Martin", "Clark", "Lewis",
    "Young", "Hall", "Allen", "King",
];

/// Share of English names on the floor.
const ENGLISH_SHARE: f64 = 0.3;
/// Share of agents trained on a second queue.
const SECOND_SKILL_SHARE: f64 = 0.3;

/// One agent as the model starts it.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub(super) id: Arc<str>,
    pub(super) name: Arc<str>,
    pub(super) team: usize,
    /// Queue indices, primary first.
    pub(super) skills: Vec<usize>,
}

/// Builds `agents` members over `teams` teams.
///
/// Agents are spread over queues in proportion to each queue's workload (share ×
/// handle time) so no queue is starved by the team arithmetic; each team serves one
/// primary queue, and a third of the agents also take a second queue.
pub(super) fn build(
    agents: usize,
    teams: usize,
    prefix: &str,
    workload: &[f64],
    rng: &mut StdRng,
) -> (Vec<Member>, Vec<Arc<str>>) {
    let teams = teams.max(1);
    let nq = workload.len().max(1);
    let team_names: Vec<Arc<str>> = (1..=teams).map(|t| Arc::from(format!("{prefix}team-{t}"))).collect();

    let team_queue = spread(teams, workload, true);
    let agent_queue = spread(agents, workload, agents >= nq);
    let mut names = Names::new(rng);
    let mut next_in_queue = vec![0usize; nq];

    let mut members = Vec::with_capacity(agents);
    for (i, &primary) in agent_queue.iter().enumerate() {
        // Teams serving this queue take its agents in turn; a queue no team has as
        // primary (fewer teams than queues) borrows from all teams.
        let own: Vec<usize> = (0..teams).filter(|&t| team_queue[t] == primary).collect();
        let k = next_in_queue[primary];
        next_in_queue[primary] += 1;
        let team = if own.is_empty() { k % teams } else { own[k % own.len()] };

        let mut skills = vec![primary];
        if nq > 1 && rng.random_bool(SECOND_SKILL_SHARE) {
            let other = (primary + rng.random_range(1..nq)) % nq;
            skills.push(other);
        }
        members.push(Member {
            id: Arc::from(format!("{prefix}A{:04}", i + 1)),
            name: Arc::from(names.next(rng)),
            team,
            skills,
        });
    }
    (members, team_names)
}

/// Assigns `n` slots to queues in proportion to `weights` (largest remainder),
/// returned slot by slot in queue order. With `each_one`, every queue gets at least
/// one slot first.
fn spread(n: usize, weights: &[f64], each_one: bool) -> Vec<usize> {
    let nq = weights.len().max(1);
    let total: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let base = if each_one && n >= nq { 1 } else { 0 };
    let rest = n - base * nq;
    let exact: Vec<f64> =
        (0..nq).map(|q| weights.get(q).copied().unwrap_or(0.0) / total * rest as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| base + e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..nq).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut missing = n - counts.iter().sum::<usize>();
    for q in order.into_iter().cycle() {
        if missing == 0 {
            break;
        }
        counts[q] += 1;
        missing -= 1;
    }
    counts.iter().enumerate().flat_map(|(q, &c)| std::iter::repeat_n(q, c)).collect()
}

/// Hands out unique names: shuffled Chinese and English combinations, then the
/// same again with a number once both run out.
struct Names {
    cn: Vec<(u16, u16)>,
    en: Vec<(u16, u16)>,
    round: usize,
}

impl Names {
    fn new(rng: &mut StdRng) -> Names {
        let mut n = Names { cn: Vec::new(), en: Vec::new(), round: 0 };
        n.refill(rng);
        n
    }

    fn refill(&mut self, rng: &mut StdRng) {
        self.cn = pairs(CN_SURNAMES.len(), CN_GIVEN.len());
        self.en = pairs(EN_GIVEN.len(), EN_SURNAMES.len());
        self.cn.shuffle(rng);
        self.en.shuffle(rng);
        self.round += 1;
    }

    fn next(&mut self, rng: &mut StdRng) -> String {
        if self.cn.is_empty() && self.en.is_empty() {
            self.refill(rng);
        }
        let english = !self.en.is_empty() && (self.cn.is_empty() || rng.random_bool(ENGLISH_SHARE));
        let name = match english {
            true => {
                self.en.pop().map(|(g, s)| format!("{} {}", EN_GIVEN[g as usize], EN_SURNAMES[s as usize]))
            }
            false => {
                self.cn.pop().map(|(s, g)| format!("{}{}", CN_SURNAMES[s as usize], CN_GIVEN[g as usize]))
            }
        }
        .unwrap_or_default();
        if self.round > 1 { format!("{name} {}", self.round) } else { name }
    }
}

fn pairs(a: usize, b: usize) -> Vec<(u16, u16)> {
    (0..a as u16).flat_map(|x| (0..b as u16).map(move |y| (x, y))).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::SeedableRng;

    use super::*;

    #[test]
    fn names_are_unique_for_a_large_floor() {
        let mut rng = StdRng::seed_from_u64(7);
        let (members, teams) = build(8000, 12, "", &[0.4, 0.3, 0.3], &mut rng);
        assert_eq!(teams.len(), 12);
        let names: HashSet<&str> = members.iter().map(|m| &*m.name).collect();
        assert_eq!(names.len(), 8000);
        let english = members.iter().filter(|m| m.name.is_ascii()).count();
        assert!(english > 1000 && english < 3500, "{english}");
        assert_eq!(&*members[0].id, "A0001");
        assert_eq!(&*members[7999].id, "A8000");
    }

    #[test]
    fn every_queue_is_staffed_by_workload() {
        let mut rng = StdRng::seed_from_u64(1);
        let (members, _) = build(60, 4, "", &[0.40, 0.31, 0.29], &mut rng);
        let per_queue = |q| members.iter().filter(|m| m.skills[0] == q).count();
        assert_eq!(per_queue(0) + per_queue(1) + per_queue(2), 60);
        assert!((23..=25).contains(&per_queue(0)), "{}", per_queue(0));
        assert!(per_queue(2) >= 16);
        // Every team has agents and serves one primary queue.
        for t in 0..4 {
            let mut prim: Vec<usize> = members.iter().filter(|m| m.team == t).map(|m| m.skills[0]).collect();
            assert!(!prim.is_empty());
            prim.dedup();
            assert_eq!(prim.len(), 1, "team {t} serves {prim:?}");
        }
        assert!(members.iter().any(|m| m.skills.len() == 2));
    }

    #[test]
    fn spread_handles_fewer_slots_than_queues() {
        assert_eq!(spread(1, &[0.5, 0.3, 0.2], true), vec![0]);
        assert_eq!(spread(0, &[0.5, 0.5], true), Vec::<usize>::new());
        assert_eq!(spread(3, &[0.9, 0.05, 0.05], true), vec![0, 1, 2]);
    }
}
