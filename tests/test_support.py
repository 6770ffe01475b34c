"""The supported-answer decision (rag/support.py) over the real index of the bundled corpus."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from rag.clause_store import SearchFilters
from rag.config import Settings, load_settings
from rag.details import (
    ask_phrases,
    asked_details,
    asked_events,
    asked_kinds,
    asked_subject,
    asked_year,
    condition_shape,
)
from rag.embed import Embedder
from rag.pipeline import Pipeline, thresholds_from
from rag.question import analyze_question, asked_choices, asked_member, asking_part, normalize_query
from rag.support import (
    CALIBRATED,
    Support,
    asked_beyond_quote,
    assess_support,
    detail_stated,
    searches_disagree,
    specific_terms,
    unnamed_department,
)

THRESHOLDS = thresholds_from(Settings())


def support_for(pipeline: Pipeline, question: str) -> Support:
    retriever = pipeline.retriever
    query = retriever.analyze(question)
    hits = retriever.search(query, k=10)
    return assess_support(query, hits, retriever.index, thresholds=THRESHOLDS)


@pytest.mark.parametrize("question", [
    "哪些部门负责质量基础设施一站式服务？",
    "企业主导制定国际标准，市里每个项目奖励多少钱？",
    "承担国家级“系列技术标准创新族”的产业链企业，每完成一个项目，市里再给多少？",  # 每完成1个…项目，分别给予20万元
    "民營企業想參加質量管理體系認證，有哪些支持？",
])
def test_answerable_questions_are_answered(corpus_pipeline: Pipeline, question: str) -> None:
    support = support_for(corpus_pipeline, question)
    assert support.outcome == "answered" and support.reasons == ()


@pytest.mark.parametrize("question", ["个人所得税起征点现在是多少？", "公司公章丢了，要怎么登报挂失？"])
def test_off_domain_questions_are_declined_with_a_reason(corpus_pipeline: Pipeline, question: str) -> None:
    support = support_for(corpus_pipeline, question)
    assert support.outcome == "not_found"
    assert support.unknown > 0.5 and "已收录的文件中没有出现" in support.reasons[0]


def test_a_decline_names_each_missing_word_once(corpus_pipeline: Pipeline) -> None:
    support = support_for(corpus_pipeline, "公司的增值税起征点是多少？")
    assert support.reasons[0] == "已收录的文件中没有出现“增值税、起征点”"  # not also 增值 and 起征


@pytest.mark.parametrize(("question", "disagree"), [
    ("哪些部门负责质量基础设施一站式服务？", False),
    ("企业主导制定国际标准，市里每个项目奖励多少钱？", False),
    ("网店找人刷单、刷好评冲销量，被查到会怎么处理？", True),  # 刷单 is in no clause; 网店 and 处理 lead elsewhere
    ("公司公章丢了，要怎么登报挂失？", True),  # no clause holds a word of it
])
def test_the_keyword_and_meaning_searches_agree_on_what_the_documents_cover(
        corpus_pipeline: Pipeline, question: str, disagree: bool) -> None:
    hits = corpus_pipeline.retriever.search(question, k=10)
    assert searches_disagree(hits) is disagree
    assert not searches_disagree(corpus_pipeline.retriever.search(question, k=10, mode="dense"))  # one ranking only


def test_a_decline_says_when_the_searches_disagree(corpus_pipeline: Pipeline) -> None:
    answer = corpus_pipeline.ask("公司公章丢了，要怎么登报挂失？")
    assert answer.outcome == "not_found" and "关键词检索与语义检索没有找到同一条款" in answer.reasons


def test_a_disagreement_weight_declines_what_the_searches_disagree_on(corpus_pipeline: Pipeline) -> None:
    """The calibrated weight (0.03) leaves this answerable question answered; a larger weight declines it."""
    retriever = corpus_pipeline.retriever
    query = retriever.analyze("假货在外地造、拉到汕尾来卖，两边的监管能联起手来吗？")
    hits = retriever.search(query, k=10)
    weighted = dataclasses.replace(THRESHOLDS, disagreement_weight=0.05)
    assert assess_support(query, hits, retriever.index, thresholds=THRESHOLDS).outcome == "answered"
    declined = assess_support(query, hits, retriever.index, thresholds=weighted)
    assert declined.outcome == "not_found" and declined.disagree


def test_an_acronym_asked_in_lower_case_is_found_in_the_documents(corpus_pipeline: Pipeline) -> None:
    """The tokenizer lower-cases the question (ccc); the document writes CCC认证自我声明."""
    support = support_for(corpus_pipeline, "CCC认证 自我声明")
    assert support.outcome == "answered" and "ccc" not in support.missing_terms and support.unknown == 0.0


def test_a_detail_the_documents_do_not_state_is_a_partial_answer(corpus_pipeline: Pipeline) -> None:
    support = support_for(corpus_pipeline, "汕尾市政府质量奖奖金是多少？")
    assert support.outcome == "partly" and support.unstated == ("金额",)
    assert support.reasons == ("相关条款没有写明金额",)


def test_an_amount_for_each_unit_is_not_stated_by_a_total(corpus_pipeline: Pipeline) -> None:
    """The patent clause gives the measure's total; "每转化一件…多少" asks for each patent's share. "每个项目…多少"
    is stated (在省每个项目分别资助30万元: the test above)."""
    support = support_for(corpus_pipeline, "市里拿专项资金推动专利转化，企业每转化一件专利能拿多少补助？")
    assert support.outcome == "partly" and support.unstated == ("每个单位的金额",)
    assert asked_details("能分到多少补助？", "企业每转化一件专利，能分到多少补助？") == ("金额", "每个单位的金额")
    assert asked_details("高温津贴每个月该发多少？") == ("具体数字",)  # a rate per month, not per unit
    assert asked_details("每家企业能派几个人？") == ("数量",)  # no amount asked


def test_asked_details() -> None:
    assert asked_details("奖金是多少？") == ("金额",)
    assert asked_details("今年的中国民营企业合作大会什么时候开？在哪里开？") == ("时间", "地点")
    assert asked_details("拿了红点奖多久之内要去申报那10万元奖励？") == ("期限",)
    assert asked_details("市里说的“25个重点产业链”具体是哪些产业链？") == ("具体名单",)
    assert asked_details("红黑榜在哪个网站能查到？") == ("网址",)
    assert asked_details("首席质量官有什么要求？") == ()
    assert asked_details("小区的电梯多久要做一次定期检验？") == ("频次",)  # how often, not how long
    assert asked_details("汕尾说的“五大战略性产业”是哪五个？") == ("具体名单",)
    assert asked_details("家用汽车在三包期内，修几次修不好才能换车？") == ("数量",)
    assert asked_details("老板拖欠工资三个月怎么办") == ()  # what to do, which the articles say
    assert asked_details("围着那二十几条产业链抓质量，连基础研究也搞吗？") == ()  # a rough number said, none asked
    assert asked_details("我们厂十几个人，能申请吗？") == ()
    assert asked_details("有没有网上办理的入口或者小程序？") == ("网址",)
    assert asked_details("碳排放每年超过多少吨才算重点排放单位？") == ("资格条件",)
    assert asked_details("首席质量官该由什么职位的人来当？") == ("人员",)
    assert asked_details("那一百项能效标准有没有具体清单？") == ("具体名单",)
    assert asked_details(asking_part("“百千万工程”具体包括啥？")) == ("具体名单",)
    assert asked_details("意见反馈邮箱是多少？") == ("邮箱",)
    assert asked_details("意见寄到哪里？") == ("地址",)
    assert asked_details("有奖举报打哪个号？") == ("电话",)
    assert asked_details("查出来冒用能效标识的厂家，要按货值的几倍罚？") == ("倍数",)  # a multiple, not any number
    assert asked_details("办公室还没签正式租房合同，地址怎么证明？") == ()  # how to prove one, not which
    assert asked_details("买到假种子苗出不来，想举报去哪儿？") == ()  # whom to report to: the body a clause names
    # 几 before a thing counted, in a yes/no ask or after 们, says "a few": no count is asked.
    assert asked_details("AI医疗器械做临床试验，伦理审查能不能几家医院互认？") == ()
    assert asked_details("在商丘盖厂房，几套图纸能不能一起审？") == ()
    assert asked_details("在林子里搞旅游可以砍几棵树修路吗？") == ()
    assert asked_details("我们几个志愿者想办个老人食堂，政府支持不？") == ()
    assert asked_details("每家企业能派几个人？") == ("数量",)
    assert asked_details("能不能说一下要几个人？") == ("数量",)  # a request to tell the count
    assert asked_details("几天能全办下来吗？") == ("期限",)  # a period, not a few things
    assert asked_details("外国人工作许可怎么办？") == ("申请程序",)  # how to get the permit
    assert asked_details("现在注册一家公司，注册资本最少要多少？") == ("金额",)
    assert asked_details("叉车司机要考特种设备作业人员证，去哪里考？") == ("申请程序",)
    assert asked_details("申请要准备哪些材料？") == ("申请程序",)
    assert asked_details("替员工代扣个税，税务局会给手续费吗？按多少比例给？") == ("比例",)  # a fee, not a procedure
    assert asked_details("办营业执照要走什么手续？") == ("申请程序",)
    assert asked_details("卖植保机要不要每个月向农机部门报销售去向？") == ()  # 报 + 销售去向: no reimbursement asked
    assert asked_details("今年什么时候开幕，在哪个场馆办？") == ("时间", "地点")
    assert asked_details("在哪个区办营业执照？") == ("地址",)  # where to go, not where an event is held
    assert asked_details("我们厂是做食品包装袋的，国家会不会查包装材料有没有污染？") == ()  # no application 材料
    assert asked_details("标准的复审周期一般是多少年？") == ("期限",)  # a 周期 is how long
    # A list named in passing, money spent in passing: nothing asked
    assert asked_details("我们是县里产业集群的头部企业，能不能进政府质量奖的培育名单？") == ()
    assert asked_details("离职员工把我们的客户名单带去竞争对手那里用，怎么维权？") == ()
    assert asked_details("花钱请设计公司做的logo，版权算我们的还是设计公司的？") == ()
    assert asked_details("质量奖的培育名单上有哪些企业？") == ("具体名单",)
    assert asked_details("联席会议的召集人由哪位领导担任？") == ("人员",)
    assert asked_details("市场监管来抽检，抽走的样品给不给钱？") == ("金额",)  # paid to the caller: an amount
    assert asked_details("这个“三六九”说的是哪些事？") == ("具体名单",)
    # A question word before what is asked for, however it is phrased
    assert asked_details("种植户每亩能领多少补贴？") == ("金额", "每个单位的金额")
    assert asked_details("社会团体会找企业收立项费吗？") == ("收费",)
    assert asked_details("秘书处设在哪个城市、哪家单位？") == ("所在单位",)
    assert asked_details("产业计量测试中心建设在哪些文件里有部署？") == ()  # which documents, not where it sits
    assert asked_details("要走哪些程序、填什么表？") == ("申请程序",)
    assert asked_details("房建工地上最少配几名管理人员？") == ("数量",)
    assert asked_details("这几个数字分别指什么？") == ("具体名单",)  # "这几个" counts nothing
    # Any other 多少/几 asks for a number; "好几年", "几乎" and "哪几" do not
    assert asked_details("被困在电梯里，救援的人一般多少分钟能赶到？") == ("具体数字",)
    assert asked_details("欠的钱过几年就不用还了？") == ("具体数字",)
    assert asked_details("公司好几年不分红，几乎没有消息，能怎么办？") == ()
    assert asked_details("罚款能罚到多高？") == ("金额",)
    assert asked_details("是一年搞一回吗？") == ("频次",)
    assert asked_details("产业园在哪个区、哪条路上？") == ("地址",)
    assert asked_details("实验室怎么预约？要填什么申请表？") == ("申请程序",)
    assert asked_details("在考核里具体能占到几成？") == ("比例",)
    assert asked_details("服务团的团长是谁？") == ("人员",)
    assert asked_details("我们做充电宝的，在不在目录里头？") == ("具体名单",)
    assert asked_details("研发投入强度是怎么算的？") == ("计算方法",)
    assert asked_details(asking_part("那份意见啥时候发的？")) == ("时间",)  # 啥 is 什么 said aloud
    # Which place or body by name, and what something is called
    assert asked_details("市里哪个县已经评上了示范区？") == ("具体名称",)
    assert asked_details("具体是哪家机构来评？") == ("具体名称",)
    assert asked_details("种植区具体覆盖哪几个镇？") == ("数量", "具体名称")
    assert asked_details(asking_part("后来出台的规划叫啥名？")) == ("名称",)
    assert asked_details("我们这一片，算不算其中一个？") == ("具体名单",)
    assert asked_details("超市里的散装食品谁来管？") == ()  # no 市 asked for


ASK_PHRASES = Path(__file__).parent / "data" / "ask_phrases.tsv"
# A kind of that list that is no detail of a document: who to call is the department answer's (谁负责, 归谁管).
ASKED_ELSEWHERE = {"负责人/联系人"}
# Phrases too general to read as asking a detail: 在哪 (在哪些方面; "…在哪里？" closing a question asks where), 有什么要求 (what a policy requires), 违法吗 (whether
# it is allowed: a prohibition answers it), 包括哪些 (a list), 是啥; and which one by name, read only with the kind
# of thing asked (哪家机构, 哪个县) or as a department question (哪个部门, 哪些单位).
NOT_READ_AS_DETAILS = {"在哪", "怎么找到他们", "经常吗", "谁可以", "有什么要求", "违法吗", "算违规吗",
                       "是啥", "包括哪些", "所谓", "是哪一家", "哪一家", "哪家", "哪个部门", "全称是什么", "具体名称", "哪一个",
                       "是哪个", "指定的是哪家", "哪些单位",
                       # how a caller's own matter stands, which no document is about
                       "现在怎么样了", "处理了吗", "受理了吗", "还在办吗", "结果出来没"}


def test_an_independent_vocabulary_of_asks_is_read() -> None:
    rows = [line.split("\t") for line in ASK_PHRASES.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert len(rows) == 263
    unread = [phrase for kind, phrase in rows if kind not in ASKED_ELSEWHERE and phrase not in NOT_READ_AS_DETAILS
              and not asked_details(asking_part(normalize_query(phrase, max_chars=100)))]
    assert unread == []


ASK_QUESTIONS = Path(__file__).parent / "data" / "ask_questions.tsv"
# The kinds of the table a writer's label stands for: a day by 日期 or a year by 时间, an agent by 办理方式, a fine
# by any amount, a place by 地点 or 所在单位, a contact by e-mail too.
READ_AS = {"日期": {"日期", "时间"}, "实名或匿名": {"实名或匿名", "办理方式"}, "金额": {"金额", "每个单位的金额", "具体数字"},
           "地址": {"地址", "地点", "所在单位"}, "电话": {"电话", "邮箱"}, "期限": {"期限", "时间"}}


def test_whole_caller_questions_are_read_as_the_detail_they_ask() -> None:
    """361 questions a writer labelled by the detail they ask, without seeing eval/ or these rules (stop 40). The rules
    were extended on every other question of each label (0.702 → 0.936 read as their kind); the questions between
    went 0.693 → 0.857. Of 80 asking what a policy states (有哪些支持, 谁牵头, 目标是什么), few read as a detail."""
    rows = [line.split("\t") for line in ASK_QUESTIONS.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#")]
    assert len(rows) == 361
    details = {question: analyze_question(question, max_chars=200).details for _, question in rows}
    asking = [(label, question) for label, question in rows if label != "无"]
    right = [question for label, question in asking if set(details[question]) & READ_AS.get(label, {label})]
    assert len(right) / len(asking) >= 0.88
    assert sum(bool(details[question]) for label, question in rows if label == "无") <= 4


def test_asks_from_a_vocabulary_written_apart_from_the_eval_set() -> None:
    """Asking phrases a writer listed by kind of detail from how callers talk, without seeing eval/ or these rules."""
    assert asked_details("没按时设首席质量官，会不会被罚？") == ("处罚后果",)
    assert asked_details("错过了会怎么样？") == ("处罚后果",)
    assert asked_details("这样违法吗？") == ()  # whether it is allowed: a prohibition answers it
    assert asked_details("举报要不要实名？") == ("实名或匿名",)
    assert asked_details("能不能找中介代办？") == ("办理方式",)
    assert asked_details("培训费能报销吗？") == ("收费",)
    assert asked_details("这个平台从哪登录？") == ("网址",)
    assert asked_details("在哪报名？") == ("申请程序",)
    assert asked_details("怎么联系他们？") == ("电话",)
    assert asked_details("办理时限是多久？") == ("期限",)
    assert asked_details("是不是每年都要查？") == ("频次",)
    assert asked_details("那个检测中心是不是已经建成了？") == ("目前进展",)
    assert asked_details("这个监测平台现在建好投入使用了没有？") == ("目前进展",)  # whether a measure is done yet
    assert asked_details("首席质量官制度落实了吗？") == ("目前进展",)
    assert asked_details("这个办法生效了吗？") == ()  # what policy there is: the documents are that
    # The avenues a policy opens are what the documents say, not a procedure to follow
    assert asked_details("想参与制定国家标准，有什么渠道或者支持？") == ()
    # Stop 40, from whole questions written apart (ask_questions.tsv): how often said with its verb, a penalty by
    # what it is, one's name, an agent, a place closing the ask, a measure done yet.
    assert asked_details("检定多长时间做一次？") == ("频次",)
    assert asked_details("这种认证一年审几回？") == ("频次",)
    assert asked_details("多长时间能办完？") == ("期限",)
    assert asked_details("商家要受到什么处罚？") == ("处罚后果",)
    assert asked_details("要负什么法律责任？") == ("处罚后果",)
    assert asked_details("检测不达标的机构会不会被约谈？") == ("处罚后果",)  # any sanction of the stated list
    assert asked_details("会罚多少钱？") == ("金额",)  # how much, not whether
    assert asked_details("政府会怎样扶持这些企业？") == ()  # how it helps, not what befalls anyone
    assert asked_details("反映问题要留真实姓名吗？") == ("实名或匿名",)
    assert asked_details("能让代理机构代我们办吗？") == ("办理方式",)
    assert asked_details("服务中心在哪儿？") == ("地址",)
    assert asked_details("那个检测平台已经建起来了吗？") == ("目前进展",)
    assert asked_details("检测报告要企业自己出钱吗？") == ("收费",)
    assert asked_details("市里会不会在网上平台帮着宣传？") == ()  # a platform to promote on, no web address asked


def test_yes_no_asks_about_a_specific_act() -> None:
    """Stop 41, from yes/no questions written apart (the `ze` batch's dev half): a sanction a few words after 会不会,
    whether one may apply, and what a package or label may show are details a clause has to state."""
    assert asked_details("一直没发布质量信用报告，会不会因为这个被罚款？") == ("处罚后果",)
    assert asked_details("包容期过了，会不会回过头来补罚？") == ("处罚后果",)
    assert asked_details("没买这个保险，投标时会不会被扣分？") == ("处罚后果",)
    assert asked_details("会不会加大抽查力度？") == ()  # what the measure does: no sanction asked
    assert asked_details("排不上头部的企业能不能自己申请进培育名单？") == ("申请资格",)
    assert asked_details("整改好了，可不可以申请撤出黑榜？") == ("申请资格",)
    assert asked_details("获奖字样能不能印到产品包装上？") == ("标注要求",)
    assert asked_details("标签上要不要写明产地？") == ("标注要求",)
    assert asked_details("我们卖保健品的，打广告这块查得严不严？") == ()  # advertising as a topic, not a mark
    assert ask_phrases("产品包装上印“驰名商标”四个字当卖点行不行？") == ("包装上印",)  # the name is the topic
    # A closing "行不行？" asks leave for the clause before it, which holds what is asked.
    assert asking_part("公司评上了奖，把获奖字样印到产品包装上，行不行？") == "把获奖字样印到产品包装上，行不行？"
    assert asking_part("本地几家同行约好一起涨价，这样违法吗？") == "这样违法吗？"
    # Asks the dev half's other detail questions were missed by: an office's building, paper or online, how long paid.
    assert asked_details("那个服务中心具体在哪栋楼办公？") == ("地址",)
    assert asked_details("是网上报还是交纸质材料？") == ("办理方式",)
    assert "办理方式" not in asked_details("说明书只印个二维码，不再附纸质说明书，这样合规吗？")
    assert asked_details("评上以后的津贴能发几年？") == ("期限",)


def test_a_standard_is_asked_of_its_subject(corpus_pipeline: Pipeline) -> None:
    """"电热毯有没有强制的国家标准？" asks for a standard of 电热毯, which no clause names: the clauses on standards in
    general do not state one. "服务这一行有没有统一的质量标准？" is asked of 服务, for which the clauses do."""
    assert asked_details("电热毯有没有强制的国家标准？") == ("适用标准",)
    assert asked_subject("适用标准", "电热毯有没有强制的国家标准？") == "电热毯"
    assert asked_details("国家有没有说要把这类标准加紧修一修？") == ()  # whether a measure was taken
    assert "适用标准" not in asked_details("有没有标准化的流程？")
    support = support_for(corpus_pipeline, "冬天想进一批电热毯在网上卖，电热毯有没有强制的国家标准？")
    assert support.outcome == "partly" and support.unstated == ("适用标准",)
    services = "我开了几家连锁洗衣店，服务这一行有没有统一的质量标准？国家提过要把服务业的标准弄完善吗？"
    assert support_for(corpus_pipeline, services).outcome == "answered"


def test_a_word_shaped_like_another_details_statement_is_still_a_topic(corpus_pipeline: Pipeline) -> None:
    """国家标准 is how a standard is stated (适用标准), but "参与制定国家标准，市里奖励多少？" asks an amount, which the city's
    一（二） states beside 国家标准; only the statements of the details asked stop a word from placing one."""
    support = support_for(corpus_pipeline, "参与制定国家标准，市里奖励多少？")
    assert support.outcome == "answered", support.reasons
    assert "国家标准" in specific_terms(["国家标准", "奖励"], corpus_pipeline.index, (), ("金额",))
    assert "国家标准" not in specific_terms(["国家标准", "头盔"], corpus_pipeline.index, (), ("适用标准",))


def test_whether_one_may_apply_is_stated_by_who_may(corpus_pipeline: Pipeline) -> None:
    """A clause that lets someone apply answers "能不能申请…" (a law's 可以申请); one that only names the measure does not."""
    support = support_for(corpus_pipeline, "我们评上了中国标准创新贡献奖，能不能把获奖字样印到产品包装上？")
    assert support.outcome == "partly" and support.unstated == ("标注要求",)
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    award = clauses["2021-qi-private-enterprises-opinion#二（九）"]  # 鼓励民营企业申报中国质量奖、中国标准创新贡献奖
    assert detail_stated("申请资格", [award], ["中国质量奖"])
    listed = clauses["city-product-quality-implementation-opinion#五（十七）"]  # 头部企业全部列入…培育名单
    assert not detail_stated("申请资格", [listed], ["培育名单"])


def test_a_sanction_is_stated_beside_the_act_it_punishes(corpus_pipeline: Pipeline) -> None:
    """A clause naming the caller's words states a sanction for them only in a sentence holding them; a clause
    matched by meaning (the act in the statute's words) states it anywhere."""
    support = support_for(corpus_pipeline, "我们厂一直没设首席质量官，会被罚吗？")
    assert support.outcome == "partly" and support.unstated == ("处罚后果",)
    assert support_for(corpus_pipeline, "检测机构出具虚假报告，会被怎么处罚？").outcome == "answered"
    assert support_for(corpus_pipeline, "有奖举报要实名吗？").unstated == ("实名或匿名",)
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    officer = clauses["city-product-quality-implementation-opinion#二（五）"]  # 全面推行企业首席质量官制度
    elsewhere = dataclasses.replace(officer, text=officer.text + "对质量违法行为依法查处。")
    assert not detail_stated("处罚后果", [elsewhere], ["首席质量官"])
    statute = dataclasses.replace(officer, text="初次违法且危害后果轻微并及时改正的，可以不予行政处罚。")
    assert detail_stated("处罚后果", [statute], ["小店", "查出"])


def test_a_multiple_computes_a_fine_and_a_definition_says_what_counts(corpus_pipeline: Pipeline) -> None:
    """Statute wording (两 local regulations of ../shared/corpora/laws): a fine of "违法所得一倍以上三倍以下" is how it is
    worked out ("罚款怎么算？"), and "所称的惠明茶，是指…" says what tea counts as 惠明茶 ("什么样的茶叶才算？")."""
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    base = clauses["city-product-quality-implementation-opinion#二（五）"]
    fine = dataclasses.replace(base, text="在科技成果转化活动中弄虚作假，骗取奖励和荣誉称号的，没收违法所得，并处以违法所得"
                                          "一倍以上三倍以下的罚款。")
    assert detail_stated("计算方法", [fine], ["弄虚作假", "骗取"])
    assert not detail_stated("计算方法", [dataclasses.replace(fine, text="弄虚作假骗取奖励的，依法予以处罚。")],
                             ["弄虚作假", "骗取"])
    tea = dataclasses.replace(base, text="本条例所称的惠明茶，是指在本自治县行政区域范围内，以本地种植的茶树品种的鲜叶为原料，"
                                         "制成的具有景宁惠明茶地理标志产品特征的茶叶。")
    counts_as = "什么样的茶叶才算得上是正宗的惠明茶？"
    assert asked_details(counts_as) == ("资格条件",)
    assert detail_stated("资格条件", [tea], ["惠明茶"], shape=condition_shape(counts_as))
    # Asked what it takes to apply, a definition is no answer (就业困难人员是指… for "申请低保要什么条件？").
    assert condition_shape("申请低保要什么条件？") is None and not detail_stated("资格条件", [tea], ["惠明茶"])
    # A multiple is stated by one, or by a share of a hundred or more; not by a count beside the words.
    overtime = dataclasses.replace(base, text="休息日安排劳动者工作又不能安排补休的，支付不低于工资的百分之二百的工资报酬。")
    assert detail_stated("倍数", [overtime], ["工资"])
    assert not detail_stated("倍数", [dataclasses.replace(base, text="推进实施百项能效标准推进工程。")], ["能效"])


def test_a_detail_counts_only_beside_the_question_words(corpus_pipeline: Pipeline) -> None:
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    reward = clauses["city-product-quality-implementation-opinion#一（二）"]  # 30万元、20万元、10万元 for 国际标准
    assert detail_stated("金额", [reward], ["制修订"])
    assert not detail_stated("金额", [reward], ["质量奖"])


def test_a_detail_belongs_to_the_phrase_it_is_in(corpus_pipeline: Pipeline) -> None:
    """汕尾 四（十） names 食用农产品快检 among its means and, after a comma, checks the 乳粉 plants 每年: no frequency is
    stated for the 快检. A target year or a count still dates or counts the sentence's later phrases."""
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    checks = clauses["2023-shanwei-quality-strong-city-opinion#四（十）"]
    assert not detail_stated("频次", [checks], ["农产品"]) and detail_stated("频次", [checks], ["配方乳粉"])
    deadline = dataclasses.replace(checks, text="开展农产品快检，发现问题的，经营者应当在3日内整改。")
    assert not detail_stated("期限", [deadline], ["快检"]) and detail_stated("期限", [deadline], ["整改"])
    # An article's own number is no figure: "第二十条 …每年安排一定的用地指标" states no count of 亩.
    article = dataclasses.replace(checks, text="第二十条 市、区县人民政府应当预留用地空间，每年安排一定的用地指标用于乡村旅游项目建设。")
    assert not detail_stated("具体数字", [article], ["用地"]) and not detail_stated("数量", [article], ["用地"])
    counted = dataclasses.replace(article, text="第二十条 每年安排三十亩用地指标用于乡村旅游项目建设，分两批下达。")
    assert detail_stated("具体数字", [counted], ["用地"]) and detail_stated("数量", [counted], ["下达"])
    # A condition naming its case ("情况复杂的案件，") joins its rule as "…的，" does.
    extended = dataclasses.replace(checks, text="应当在五个工作日内办结并答复；情况复杂的案件，经行政机关负责人同意可以延长十个工作日办结。")
    assert detail_stated("期限", [extended], ["复杂"])
    activity = dataclasses.replace(checks, text="深化“质量服务企业行”活动，2023年开始，每年服务企业600家以上。")
    assert detail_stated("数量", [activity], ["质量服务企业行"])
    assert detail_stated("时间", [activity], ["质量服务企业行"])


def test_a_share_is_an_amount_only_of_money(corpus_pipeline: Pipeline) -> None:
    """"补贴50%" states how much is paid; 汕尾 四（十）'s "体系检查100%全覆盖" states no fine for anything."""
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    checks = clauses["2023-shanwei-quality-strong-city-opinion#四（十）"]
    assert not detail_stated("金额", [checks], ["检查"])
    rate = dataclasses.replace(checks, text="偶然所得，适用比例税率，税率为百分之二十。")
    assert detail_stated("金额", [rate], ["偶然所得"])


def test_any_number_answers_a_number_asked_for(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    minutes = dataclasses.replace(clause, text="接到电梯困人报警后，救援人员应当在30分钟内到达现场。")
    vague = dataclasses.replace(clause, text="接到电梯困人报警后，救援人员应当尽快到达现场。")
    assert detail_stated("具体数字", [minutes], ["救援"]) and not detail_stated("具体数字", [vague], ["救援"])


def test_a_number_the_question_gives_answers_nothing(corpus_pipeline: Pipeline) -> None:
    """"打了96333，多少分钟能赶到？": the clause's 96333 is the caller's number, not the minutes asked for."""
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    platform = dataclasses.replace(clause, text="加快“96333”电梯应急处置平台建设，提升救援效率。")
    minutes = dataclasses.replace(clause, text="拨打96333后，救援人员应当在30分钟内到达。")
    assert detail_stated("具体数字", [platform], ["救援"]) and not detail_stated("具体数字", [platform], ["救援"], given=("96333",))
    assert detail_stated("具体数字", [minutes], ["救援"], given=("96333",))
    titled = dataclasses.replace(clause, text="后来出台了《贯彻实施质量发展纲要2014年行动计划》。")  # a title names more than a year
    assert detail_stated("名称", [titled], ["行动计划"], given=("2014",))


def test_stacking_templates_shares_scoring_and_differences_are_asks_of_their_own(corpus_pipeline: Pipeline) -> None:
    """Hotline asks the clauses rarely state: can two awards be stacked, is there a template, how a sum is shared,
    how something is scored. A clause on the award answers none of them; a rule on it does."""
    assert asked_details("省里资助过了，市里这两笔奖励能叠加拿吗？") == ("能否叠加",)
    assert asked_details("承诺书有没有统一模板？") == ("统一模板",)
    assert asked_details("三家一起起草的，市里那20万元奖励怎么分？") == ("分配方式",)
    assert asked_details("领跑者评价看哪些指标、怎么打分？") == ("计算方法",)
    assert asked_details("国家会不会给央企打分考核？") == ()  # whether it is done, which a clause may say
    assert asked_details(asking_part("红点之星和红点至尊奖，两个奖有啥不一样？")) == ("区别",)
    assert asked_details("拿了市科技计划的钱，还能再去享受税前加计扣除吗？两头都能占？") == ("能否叠加",)
    assert asked_details("列进培育名单以后，培育期一般是几年？") == ("期限",)  # a period in years, as 多久
    assert asked_details("个人独资企业注销了，以前欠的钱过几年就不用还了？") == ("具体数字",)  # any number will do
    assert asked_details("专项资金一年总盘子有多大？是几千万还是上亿？") == ("金额",)
    assert asked_details("公司连着好几年赚钱却不分红，小股东能要求回购吗？") == ()  # the situation
    assert asked_details("国外的标准跟国内不一样，怎么对接？") == ()  # the situation, not the ask
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    award = dataclasses.replace(clause, text="对获得中国标准创新贡献奖的企业，给予20万元奖励。")
    rule = dataclasses.replace(clause, text="同一项目获得多项奖励的，按就高原则给予奖励，不重复奖励。")
    terms = ["奖励"]
    assert not detail_stated("能否叠加", [award], terms) and detail_stated("能否叠加", [rule], terms)
    assert not detail_stated("分配方式", [award], ["标准创新贡献奖"])
    both = dataclasses.replace(clause, text="对获得红点之星、红点至尊奖的企业分别给予奖励。")
    compared = dataclasses.replace(clause, text="红点至尊奖与红点之星不同，只授予年度最佳作品。")
    assert not detail_stated("区别", [both], ["红点至尊奖"]) and detail_stated("区别", [compared], ["红点至尊奖"])
    shared = dataclasses.replace(clause, text="多家企业共同主导起草的标准项目，奖励资金按起草单位排名比例分配。")
    assert detail_stated("分配方式", [shared], ["起草"])


def test_an_either_or_question_needs_one_of_its_alternatives_named(corpus_pipeline: Pipeline) -> None:
    """The clause on 书面承诺 does not say whether 项目经理 or 公司法人 signs; the 2014 plan does say local
    governments draw up their own 方案."""
    unsaid = support_for(corpus_pipeline, "汕尾的工程质量终身责任书面承诺，是要项目经理签，还是公司法人来签？")
    assert unsaid.outcome == "partly" and "二者中的哪一种" in unsaid.unstated
    said = support_for(corpus_pipeline, "国务院2014年那个质量行动计划，地方上是直接照着办，还是要自己再出方案？")
    assert said.outcome == "answered"
    # alternatives that name no thing ask which way a measure goes, and the clause says it in its own words
    assert asked_choices("用不锈钢还是石材？") == (("不锈", "不锈钢"), ("石材",))
    assert asked_choices("计量测试技术研究是只图眼下能用，还是也往长远走？") == ()
    way = support_for(corpus_pipeline, "汕尾对在建工程的实体质量检测，是打算多搞还是少搞？")
    assert way.outcome == "answered"


def test_a_kind_of_document_places_no_detail(corpus_pipeline: Pipeline) -> None:
    """"18个部门那份方案…搭成几级？": 方案 names the document, not the 三级 asked, which 七（二十） states beside 监管检测."""
    support = support_for(corpus_pipeline, "18个部门那份质量提升方案，打算把质量监管检测体系搭成几级？")
    assert support.outcome == "answered"
    index = corpus_pipeline.retriever.index
    assert "方案" not in specific_terms(["方案", "监管", "检测"], index) and "意见" in specific_terms(["意见"], index)


def test_what_a_date_belongs_to_does_not_place_it(corpus_pipeline: Pipeline) -> None:
    """"科技计划每年什么时候开始申报？": a target year in a sentence on 申报 work dates no 科技计划 申报."""
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    other = dataclasses.replace(clause, text="积极组织各县做好申报工作，力争到2023年底实现全覆盖。")
    dated = dataclasses.replace(clause, text="市级科技计划项目自2024年6月起开始申报。")
    terms, events = ["科技计划", "申报"], ("申报",)
    assert detail_stated("时间", [other], terms) and not detail_stated("时间", [other], terms, events)
    assert detail_stated("时间", [dated], terms, events)


def test_which_towns_is_stated_by_named_towns(corpus_pipeline: Pipeline) -> None:
    """"覆盖哪几个镇？" asks for towns: a list of crops beside the topic names none."""
    question = "汕尾要做大做强的莲花山茶，种植区具体覆盖哪几个镇？"
    assert "具体名称" in asked_details(question) and asked_kinds("具体名称", question) == ("镇",)
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    crops = dataclasses.replace(clause, text="做大做强陆河青梅、陂洋菠萝、莲花山茶等特色产业。")
    towns = dataclasses.replace(clause, text="莲花山茶种植区覆盖海城镇、可塘镇、黄羌镇。")
    assert detail_stated("具体名称", [crops], ["莲花山茶"]) and not detail_stated("具体名称", [crops], ["莲花山茶"], kinds=("镇",))
    assert detail_stated("具体名称", [towns], ["莲花山茶"], kinds=("镇",))


def test_a_calculation_is_stated_by_its_basis(corpus_pipeline: Pipeline) -> None:
    """"补偿金怎么算" is answered by "按…工作的年限，每满一年支付一个月工资"; a ranking by 研发投入强度 states no formula."""
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    basis = dataclasses.replace(clause, text="经济补偿按劳动者在本单位工作的年限，每满一年支付一个月工资的标准向劳动者支付。")
    ranking = dataclasses.replace(clause, text="对研发投入强度排名全市前三的县（市、区）给予奖励。")
    assert detail_stated("计算方法", [basis], ["经济补偿"]) and not detail_stated("计算方法", [ranking], ["研发投入"])


def test_a_department_question_still_asks_its_deadline(corpus_pipeline: Pipeline) -> None:
    """"报给哪个部门、几天内报": the department answers the first ask only; no clause gives the deadline."""
    support = support_for(corpus_pipeline, "产品查出有缺陷要召回，召回计划要报给哪个部门、几天内报？")
    assert support.asked_details == ("期限",) and support.outcome != "answered"


@pytest.mark.parametrize("earlier", ["质量月是每年几月？", "汕尾质量强市意见什么时候印发？"])
def test_a_department_follow_up_asks_for_the_department_alone(corpus_pipeline: Pipeline, earlier: str) -> None:
    """The earlier question's date is not what "由哪个部门负责？" asks: no "没有写明日期" for it."""
    retriever = corpus_pipeline.retriever
    query = retriever.analyze("由哪个部门负责？", history=[earlier])
    support = assess_support(query, retriever.search(query, k=10), retriever.index, thresholds=THRESHOLDS)
    assert query.intent == "department" and support.asked_details == () and support.outcome == "answered"


def test_a_year_is_no_period_and_a_list_states_its_items(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    year = dataclasses.replace(clause, text="到2025年，申报工作全面完成。")
    period = dataclasses.replace(clause, text="获奖企业应当在30个工作日内申报奖励。")
    assert detail_stated("时间", [year], ["申报"]) and not detail_stated("期限", [year], ["申报"])
    assert detail_stated("期限", [period], ["申报"])
    listed = dataclasses.replace(clause, text="重点产业链包括电子信息、海工装备、新能源、现代农业。")
    unlisted = dataclasses.replace(clause, text="围绕25个重点产业链开展质量提升。")
    counted = dataclasses.replace(clause, text="围绕5个主导产业、25条重点产业链、46个县域特色产业集群开展质量提升。")
    assert detail_stated("具体名单", [listed], ["产业链"]) and not detail_stated("具体名单", [unlisted], ["产业链"])
    assert not detail_stated("具体名单", [counted], ["产业链"])  # counted categories name no 产业链
    share = dataclasses.replace(clause, text="对小微企业的认证费用给予50%补贴。")
    assert detail_stated("金额", [share], ["认证"])  # "补贴多少" is answered by a share of the cost too
    departments = dataclasses.replace(clause, text="大动作！18部门联合推动质量提升。")  # a count of departments
    assert detail_stated("数量", [departments], ["联合"])
    vague = dataclasses.replace(clause, text="建设一批质量创新基地。")  # "一批" counts nothing
    counted_batches = dataclasses.replace(clause, text="培育两批质量创新基地。")
    assert not detail_stated("数量", [vague], ["创新基地"]) and detail_stated("数量", [counted_batches], ["创新基地"])


def test_a_place_or_body_asked_for_is_stated_by_its_name(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    named = dataclasses.replace(clause, text="国家级质检中心落户海丰县，服务电子信息产业。")
    pilot = dataclasses.replace(clause, text="在海丰县、陆河县开展质量品牌提升示范区创建。")
    unnamed = dataclasses.replace(clause, text="推进质量品牌提升示范区建设，在全市推广经验。")
    assert detail_stated("具体名称", [named], ["质检中心"]) and detail_stated("具体名称", [pilot], ["示范区"])
    assert not detail_stated("具体名称", [unnamed], ["示范区"])  # 全市 names no county
    titled = dataclasses.replace(clause, text="开展制造强国战略研究，形成《中国制造2025》规划。")
    assert detail_stated("名称", [titled], ["规划"]) and not detail_stated("名称", [unnamed], ["示范区"])


@pytest.mark.parametrize(("question", "unstated"), [
    ("哪个县已经评上了全国质量品牌提升示范区？", ("具体名称",)),  # the city's clause names no county
    ("汕尾推行智慧质量监管，那个监管系统叫啥名字？", ("名称",)),
    ("2014年说要开展服务外包认证示范，这个认证是照着哪份标准来审的？", ("名称",)),  # a standard by its title or number
    ("市里说要建立企业首席质量官制度规范，这份规范出来了没有，文号是多少？", ("文号",)),  # 到2023年底 is no 文号
])
def test_a_name_the_documents_do_not_give_is_not_stated(
        corpus_pipeline: Pipeline, question: str, unstated: tuple[str, ...]) -> None:
    answer = corpus_pipeline.ask(question)
    assert answer.outcome == "partly" and answer.text.startswith(f"文件中有相关规定，但没有写明{unstated[0]}")


def test_what_a_figure_stands_for_is_stated_where_it_counts_a_thing(corpus_pipeline: Pipeline) -> None:
    answer = corpus_pipeline.ask("市里文件老提“46个”，这个46指的是啥？")
    assert answer.outcome == "answered" and "46个县域特色产业集群" in answer.text
    # a figure inside a name is no figure asked about: "3+2" is defined nowhere
    assert corpus_pipeline.ask("汕尾说的“3+2”现代产业体系是指什么？").outcome == "partly"


def test_a_document_number_is_stated_by_the_number_line(corpus_pipeline: Pipeline) -> None:
    assert asked_details("文号是多少？") == ("文号",) and asked_details("要符合哪个国家标准？") == ("名称",)
    answer = corpus_pipeline.ask("国务院办公厅2014年那份质量行动计划，文号是多少？")
    assert answer.outcome == "answered" and "国办发〔2014〕18号" in answer.text


def test_how_things_stand_now_is_stated_only_where_the_documents_say_what_exists(corpus_pipeline: Pipeline) -> None:
    """Plans and targets ("力争达到94.8%") do not say what has been reached; "在…2个…试点基础上" says what exists."""
    target = corpus_pipeline.ask("汕尾制造业产品质量合格率的目标是94.8%，目前实际做到多少了？")
    assert target.outcome == "partly" and target.text.startswith("文件中有相关规定，但没有写明目前进展")
    won = corpus_pipeline.ask("汕尾目前有没有哪家企业拿过鲁班奖？")
    assert won.outcome == "partly" and "目前进展" in won.reasons[0]
    existing = corpus_pipeline.ask("市里现在已经有几个质量基础设施“一站式”服务试点？")
    assert existing.outcome == "answered" and "2个" in existing.text
    # what policy there is now is what the documents say; a situation told before the ask asks nothing
    assert "目前进展" not in asked_details("现在国家对民营企业提质有哪些扶持政策？")
    assert "目前进展" not in asked_details("目前已经建成了3条产线，还能申请补贴吗？")


def test_a_share_is_stated_by_a_percentage_not_by_a_count(corpus_pipeline: Pipeline) -> None:
    assert asked_details("企业要按什么比例配套？") == ("比例",) and asked_details("要建几个试点？") == ("数量",)
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    counted = dataclasses.replace(clause, text="围绕现代产业体系和25个重点产业链，组织关键核心技术攻关。")
    shared = dataclasses.replace(clause, text="保健食品生产企业体系检查比例不低于20%。")
    assert not detail_stated("比例", [counted], ["核心技术"]) and detail_stated("数量", [counted], ["核心技术"])
    assert detail_stated("比例", [shared], ["保健食品"])
    # the clause counts 25 产业链 beside the 核心技术 it supports with 100万元: no share of the cost
    answer = corpus_pipeline.ask("关键核心技术突破在市科技计划里最高支持100万元，企业自己要按什么比例配套资金？")
    assert answer.outcome == "partly" and "没有写明" in answer.text and "比例" in answer.reasons[0]


def test_a_ceiling_opening_hours_a_web_page_and_a_work_licence_are_asks_of_their_own(
        corpus_pipeline: Pipeline) -> None:
    assert asked_details("这笔奖励有没有封顶？") == ("上限",) and asked_details("一年最多能报几项？") == ("数量", "上限")
    assert asked_details("员工上班时间用公司设备搞出的发明，专利归谁？") == ()  # working hours told, not asked
    assert asked_details("大厅周末开不开门？") == ("办理时间",) and asked_details("有没有专门的网页？") == ("网址",)
    assert asked_details("能拿到多少真金白银？") == ("金额",) and asked_details("是不是要持证上岗？") == ("资格条件",)
    # 每个项目再给予30万元、20万元、10万元: an amount for each project, no ceiling
    capped = corpus_pipeline.ask("市里给主导制修订国家标准的企业每个项目奖20万，一年牵头好几项的话，奖励有没有封顶？")
    assert capped.outcome == "partly" and "上限" in capped.reasons[0]
    hours = corpus_pipeline.ask("汕尾的政务服务说要一窗通办，办事大厅节假日开不开门？")
    assert hours.outcome == "partly" and "办理时间" in hours.reasons[0]


def test_a_membership_question_needs_the_thing_it_asks_about_named(corpus_pipeline: Pipeline) -> None:
    """Whether a group includes a thing is stated by naming it among the group's members: the 2014 plan's consumer
    goods name 儿童用品, and no clause says whether a 港资 company is a 民营企业."""
    assert asked_member("我们是港资控股、在内地注册的公司，算不算民营企业？") == ("港资", "控股", "内地", "注册")
    assert asked_member("个体户算不算服务对象？") == ("个体", "个体户")
    assert asked_member("再拉人进来还有提成，这算不算传销？") == ()  # a judgement of what was told
    assert asked_member("匿名寄过去的意见算不算数？") == ()  # whether it counts at all
    assert asked_member("小微企业认证提升帮扶名单在哪看？我们在不在？") == ("小微", "认证", "名单")  # we: in that list?
    assert asked_member("我们算不算小微企业？") == ()
    unnamed = corpus_pipeline.ask("我们是外资控股、在内地注册的公司，算不算民营企业？六部门那份意见的支持能享受吗？")
    assert unnamed.outcome == "partly" and "是否在其列" in unnamed.reasons[0]
    named = corpus_pipeline.ask("市里到2025年参与制修订100项以上标准的目标里，团体标准算不算在里面？")
    assert named.outcome == "answered"
    # Named by its full name: 公交 is the 公共交通 汕尾 lists among its life services (the colloquial lexicon).
    short = corpus_pipeline.ask("我们在汕尾跑公交线路，坐公交这种事算不算在汕尾说的生活服务里头？")
    assert short.outcome == "answered" and short.citations[0].clause.clause_id == "2023-shanwei-quality-strong-city-opinion#六（十七）"


def test_a_certificate_and_a_name_asked_colloquially(corpus_pipeline: Pipeline) -> None:
    assert asked_details("培训完了发不发结业证？") == ("证书",)
    assert asked_details(asking_part("这个活动叫个啥名堂？")) == ("名称",)
    answer = corpus_pipeline.ask("汕尾要在公路水运工程里评一批样板工程，这个创建活动叫个啥名堂？")
    assert answer.outcome == "answered" and "平安百年品质工程" in answer.text


def test_within_how_many_years_asks_a_period(corpus_pipeline: Pipeline) -> None:
    assert asked_details("交付后几年内出的问题算吗？") == ("期限",)
    answer = corpus_pipeline.ask("汕尾推的工程质量潜在缺陷保险，管交付后几年内出的质量问题？")
    assert answer.outcome == "partly" and answer.text.startswith("文件中有相关规定，但没有写明期限")


def test_a_list_names_a_sets_members_beside_the_sets_name(corpus_pipeline: Pipeline) -> None:
    """The members are listed in the phrase that names the set, not after a comma or forty characters on."""
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    before = dataclasses.replace(clause, text="围绕电子信息、纺织服装、电力能源等五大战略性产业，建设检验检测平台。")
    after = dataclasses.replace(clause, text="质量基础设施（计量、标准、认证认可、检验检测）服务企业。")
    apart = dataclasses.replace(clause, text="奋进“百千万工程”，完整、准确、全面贯彻新发展理念。")
    far = dataclasses.replace(clause, text="围绕5个主导产业开展产业计量基础能力提升行动，建立一批急需的先进计量标准，"
                                           "聚焦全市制造业领域“测不了、测不全、测不准”痛点。")
    assert detail_stated("具体名单", [before], ["战略性"]) and detail_stated("具体名单", [after], ["质量基础设施"])
    assert not detail_stated("具体名单", [apart], ["百千万工程"]) and not detail_stated("具体名单", [far], ["主导产业"])


def test_a_date_is_the_date_of_what_was_asked(corpus_pipeline: Pipeline) -> None:
    """"什么时候印发" asks for the date of 印发: a target year ("到2025年") beside the topic words is no answer."""
    assert asked_events("时间", "汕尾质量强市的实施意见正式版什么时候印发？") == ("印发", "发布", "出台", "公布")  # one event
    assert asked_events("时间", "每年什么时候开始申报？") == ("开始", "申报", "启动", "报名")
    assert asked_events("时间", "远景目标定到了哪一年？") == ()
    assert asked_events("日期", "2014年质量工作行动计划是哪天印发的？") == ()  # a day and month date themselves
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    target = dataclasses.replace(clause, text="到2025年，质量强市建设取得阶段性成效。")
    issued = dataclasses.replace(clause, text="本意见于2023年12月印发，质量强市建设全面推进。")
    deadline = dataclasses.replace(clause, text="特种设备在投入使用前或者投入使用后三十日内，应当办理使用登记。")
    assert detail_stated("时间", [deadline], ["使用登记"])  # "最晚什么时候": a deadline says when
    assert detail_stated("时间", [target], ["强市"]) and not detail_stated("时间", [target], ["强市"], ["印发"])
    assert detail_stated("时间", [issued], ["强市"], ["印发"])
    support = support_for(corpus_pipeline, "汕尾质量强市的实施意见正式版什么时候印发？")
    assert support.outcome == "partly" and support.unstated == ("时间",)


def test_what_asks_and_how_it_is_said_place_no_detail(corpus_pipeline: Pipeline) -> None:
    """The 奖励 of "什么奖励" asks; 万元 is in every amount; 原材料 and 新材料 are no application 材料; 每年 says how often,
    not how long; a compound is placed by its halves (国家标准 in "国际、国家、行业标准")."""
    index = corpus_pipeline.index
    assert "奖励" not in specific_terms(["强县", "奖励"], index, ask_phrases("被评为质量强县的县，能拿到什么奖励？"))
    assert "万元" not in specific_terms(["红点", "万元"], index)
    # Every amount sits beside a word for money: "有没有奖励？奖多少钱？" is placed by what the 奖励 is for.
    assert specific_terms(["团体", "领先者", "奖励"], index) == ("团体", "领先者")
    assert specific_terms(["质量提升", "经费"], index) == ("质量提升",)
    clause = index.clauses_matching(SearchFilters())[0]
    materials = dataclasses.replace(clause, text="提升原材料供给质量，采用新材料，实施科技特派服务团制度。")
    assert not detail_stated("申请程序", [materials], ["特派"])
    yearly = dataclasses.replace(clause, text="每年评选一次质量奖，获奖企业给予表彰。")
    assert detail_stated("频次", [yearly], ["质量奖"]) and not detail_stated("期限", [yearly], ["质量奖"])
    clauses = {c.clause_id: c for c in index.clauses_matching(SearchFilters())}
    reward = clauses["city-product-quality-implementation-opinion#一（二）"]
    assert detail_stated("金额", [reward], ["国家标准"])
    support = support_for(corpus_pipeline, "被评为“质量强县”的县，能拿到什么奖励？")
    assert support.outcome == "partly" and support.unstated == ("金额",)


def test_only_rare_question_words_place_a_detail(corpus_pipeline: Pipeline) -> None:
    index = corpus_pipeline.index
    assert specific_terms(["质量提升", "检验检测中心"], index) == ("检验检测中心",)
    assert specific_terms(["质量提升"], index) == ("质量提升",)  # nothing rarer: keep what there is


def test_a_multiple_of_the_price_states_an_amount(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    tenfold = dataclasses.replace(clause, text="消费者还可以要求支付价款十倍或者损失三倍的赔偿金。")
    assert asked_details("买到过期食品能赔多少钱？") == ("金额",)
    assert detail_stated("金额", [tenfold], ["赔偿金"])


def test_words_no_clause_holds_cannot_place_a_detail(corpus_pipeline: Pipeline) -> None:
    index = corpus_pipeline.index
    assert index.clauses_containing("彩票") == 0
    assert specific_terms(["彩票", "检验检测中心"], index) == ("检验检测中心",)
    assert specific_terms(["彩票"], index) == ()  # then any sentence stating the detail will do


def test_a_one_document_index_decides_as_a_library_does(tmp_path: Path, default_embedder: Embedder) -> None:
    """The best cosine does not depend on how many clauses the index holds: an uploaded notice of two
    clauses answers its own topic and declines an unrelated question by the same thresholds."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notice.txt").write_text(
        "关于开展质量月活动的通知\n一、每年九月开展全国质量月活动。\n二、各地市场监管部门负责组织质量月活动。\n",
        encoding="utf-8")
    pipeline = Pipeline(load_settings(index_dir=str(tmp_path / "index"), corpus_paths=(str(corpus),)),
                        embedder=default_embedder)
    pipeline.ingest()
    assert pipeline.index.manifest.clauses <= 3  # title line, two clauses
    answered = support_for(pipeline, "质量月活动由哪些部门组织？")
    assert answered.outcome == "answered" and answered.similarity is not None
    declined = support_for(pipeline, "个人所得税起征点是多少？")
    assert declined.outcome == "not_found"


def test_a_year_is_no_count(corpus_pipeline: Pipeline) -> None:
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    target = dataclasses.replace(clause, text="到2025年，社会公用计量标准体系更加完善。")
    counted = dataclasses.replace(clause, text="到2025年，新建社会公用计量标准12项。")
    assert not detail_stated("数量", [target], ["计量"]) and detail_stated("数量", [counted], ["计量"])
    session = dataclasses.replace(clause, text="全面贯彻省委十三届三次全会精神，以改革创新为根本动力，推动制造业创新中心建设。")
    assert not detail_stated("数量", [session], ["创新中心"])  # a party plenum's number counts nothing


def test_an_amount_belongs_to_what_is_named_before_it(corpus_pipeline: Pipeline) -> None:
    """The city document's 一（二） rewards 国际、国家、行业标准 and then sets a target that also names 团体标准: no
    amount is stated for 团体标准, so the follow-up is answered “partly”."""
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    reward = clauses["city-product-quality-implementation-opinion#一（二）"]
    assert detail_stated("金额", [reward], ["行业标准"]) and not detail_stated("金额", [reward], ["团体标准"])
    answer = corpus_pipeline.ask("那团体标准呢？", history=[("企业主导制定行业标准，市里奖励多少？", "……")])
    assert answer.outcome == "partly" and "金额" in answer.text


def test_an_amount_belongs_to_the_phrase_opening_with_dui(corpus_pipeline: Pipeline) -> None:
    """“对获批筹建的国家产品质量检验检测中心，积极争取省500万元资金支持”: the amount is the 检验检测中心's, not the
    实验室's named earlier in the sentence, nor what the sentence's opening 安排 belongs to."""
    clauses = {c.clause_id: c for c in corpus_pipeline.index.clauses_matching(SearchFilters())}
    lab = clauses["city-product-quality-implementation-opinion#四（十一）"]
    assert detail_stated("金额", [lab], ["检验检测中心"])
    assert not detail_stated("金额", [lab], ["实验室"]) and not detail_stated("金额", [lab], ["安排"])
    two = dataclasses.replace(lab, text="对新获评的省级企业给予10万元奖励，对新获评的市级企业给予5万元奖励。")
    assert detail_stated("金额", [two], ["省级"]) and detail_stated("金额", [two], ["市级"])


def test_an_x_ne_follow_up_asks_for_the_detail_the_earlier_question_asked(corpus_pipeline: Pipeline) -> None:
    answer = corpus_pipeline.ask("汕尾的呢？", history=[("市里到2025年要建立、提升改造几项社会公用计量标准？", "……")])
    assert answer.outcome == "partly" and "数量" in answer.text


def test_lexical_search_decides_by_the_words_alone(corpus_pipeline: Pipeline) -> None:
    """No query vector, no cosine: half the weighted words in the top clauses answers, unknown words decline."""
    retriever = corpus_pipeline.retriever

    def lexical_support(question: str) -> Support:
        query = retriever.analyze(question)
        return assess_support(query, retriever.search(query, k=10, mode="lexical"), retriever.index,
                              thresholds=THRESHOLDS)

    answered = lexical_support("哪些部门负责质量基础设施一站式服务？")
    assert answered.similarity is None and answered.outcome == "answered" and answered.coverage >= 0.5
    declined = lexical_support("个人所得税起征点现在是多少？")
    assert declined.similarity is None and declined.outcome == "not_found" and declined.unknown > 0.5


@pytest.mark.parametrize(("question", "unstated"), [
    ("质量月活动的宣传标语是什么？", ("宣传标语",)),  # the clauses on 质量月 name no 标语
    ("首席质量官对学历有什么要求？", ("学历",)),
    ("“质量首负责任制”是什么意思？", ("含义",)),  # named, never defined
    ("什么是“领跑者”制度？", ("含义",)),
    ("民企意见讲要引导窗口服务单位优化流程，窗口服务单位指的是哪一类机构？", ("含义",)),  # which kind: what it means
])
def test_a_thing_asked_by_name_must_be_named_and_a_meaning_defined(
        corpus_pipeline: Pipeline, question: str, unstated: tuple[str, ...]) -> None:
    support = support_for(corpus_pipeline, question)
    assert support.outcome == "partly" and support.unstated == unstated
    answer = corpus_pipeline.ask(question)
    assert answer.outcome == "partly" and answer.text.startswith(f"文件中有相关规定，但没有写明{unstated[0]}")


def test_a_thing_asked_by_name_that_the_clauses_name_is_answered(corpus_pipeline: Pipeline) -> None:
    assert support_for(corpus_pipeline, "汕尾对农村消费有什么打算？").outcome == "answered"  # 农村消费 is there
    assert support_for(corpus_pipeline, "民营企业可以申请哪些认证培训？").outcome == "answered"


def test_each_default_model_has_its_own_calibration_and_a_setting_overrides_it() -> None:
    """The untuned e5's cosines crowd higher than the tuned model's: its threshold must not be the tuned one's."""
    tuned = thresholds_from(Settings())
    untuned = thresholds_from(Settings(embedder="multilingual-e5-small"))
    assert tuned == CALIBRATED["multilingual-e5-small-tuned"] and untuned == CALIBRATED["multilingual-e5-small"]
    assert untuned.min_support > tuned.min_support
    assert thresholds_from(Settings(embedder="/some/other/model")) == tuned  # a guess until calibrated
    assert thresholds_from(Settings(min_support=0.9)) == dataclasses.replace(tuned, min_support=0.9)


def test_a_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_MIN_SUPPORT", "0.85")
    assert thresholds_from(load_settings(path=os.devnull)).min_support == 0.85


def test_a_rough_number_said_asks_no_count() -> None:
    assert asked_details("我们厂有好几个车间，能不能一起申报？") == ()
    assert asked_details("一共建几个试点？") == ("数量",)
    assert "人员" in asked_details("链长分别由哪几位市领导担任？")


def test_a_level_asked_for_is_answered_in_the_documents_words(corpus_pipeline: Pipeline) -> None:
    """"做到什么水准" asks for a level, which a clause states as 国际先进, not with the word 水准."""
    answer = corpus_pipeline.ask("汕尾的质量基础设施管理体系，打算做到什么水准？")
    assert answer.outcome == "answered" and "先进" in answer.text


def test_something_to_be_eased_is_the_topic_not_a_value_asked(corpus_pipeline: Pipeline) -> None:
    """"把门槛降下来" asks whether the documents ease it (降低技术门槛), not what the threshold is."""
    assert asked_details("能不能把申报门槛降下来？") == ()
    assert asked_details("申报门槛是什么？") == ("资格条件",)
    assert "收费" in asked_details("检测费用能减免多少？")  # how much is a value asked
    answer = corpus_pipeline.ask("民企那份质量意见，有没有提到要帮我们把技术门槛和做质量的成本降下来？")
    assert answer.outcome == "answered" and "降低民营企业技术门槛和质量成本" in answer.text


def test_a_list_of_departments_is_the_department_answer(corpus_pipeline: Pipeline) -> None:
    question = "2014年计划里加大对小微企业品牌建设的扶持，由哪个部门领头？都有哪些部门在管？"
    assert corpus_pipeline.retriever.analyze(question).details == ()
    answer = corpus_pipeline.ask(question)
    assert answer.outcome == "answered" and "质检总局" in answer.text


def test_a_department_question_the_clauses_name_no_body_for_is_partly_answered(corpus_pipeline: Pipeline) -> None:
    """The 2021 opinion says 重视民营企业海外质量纠纷解决 and names no body that handles it."""
    support = support_for(corpus_pipeline, "民企意见说要重视民营企业海外质量纠纷解决，具体由哪个机构负责？")
    assert support.outcome == "partly" and support.unstated == ("负责部门",)
    assert support_for(corpus_pipeline, "哪些部门负责质量基础设施一站式服务？").outcome == "answered"
    query = corpus_pipeline.retriever.analyze("损失由谁承担？")
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    party = dataclasses.replace(clause, departments=(), text="未经授权的支付造成的损失，由电子支付服务提供者承担。")
    nobody = dataclasses.replace(clause, departments=(), text="重视民营企业海外质量纠纷解决，更好维护合法权益。")
    assert unnamed_department(query, [party]) == () and unnamed_department(query, [nobody]) == ("负责部门",)
    # the city's clause on 首席质量官 names no body; other documents' clauses on it, also in the top clauses, are attributed
    answer = corpus_pipeline.ask("推行企业首席质量官制度，由哪些部门负责？")
    assert answer.outcome == "answered" and "按职责分工负责" in answer.text


def test_this_kind_asks_about_what_the_phrase_before_describes(corpus_pipeline: Pipeline) -> None:
    assert asked_member("我们把一项专利作价入股到合资公司，这种算不算专利转化？") == ("一项", "专利", "作价", "入股", "合资")
    assert asked_member("再拉人进来还有提成，这算不算传销？") == ()
    answer = corpus_pipeline.ask("我们把一项专利作价入股到合资公司，这种算不算市里说的专利转化？")
    assert answer.outcome == "partly" and "是否在其列" in answer.reasons[0]


def test_rules_of_detail_and_a_scope_are_asks_of_their_own(corpus_pipeline: Pipeline) -> None:
    assert asked_details("有没有个章程？") == ("配套细则",) and asked_details("出没出实施细则？") == ("配套细则",)
    assert asked_details("有没有划个范围？") == ("具体名单",)
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    named = dataclasses.replace(clause, text="印发《2013-2014年度省级人民政府质量工作考核评分细则》。")
    unnamed = dataclasses.replace(clause, text="开展省级人民政府质量工作考核。")
    assert detail_stated("配套细则", [named], ["考核"]) and not detail_stated("配套细则", [unnamed], ["考核"])



def test_papers_to_keep_and_a_pass_mark_are_asks_of_their_own() -> None:
    assert asked_details("检查前要备好哪些台账和资料？") == ("申请程序",)
    assert asked_details("自评有没有一条及格线？") == ("计算方法",)


def test_a_question_that_quotes_a_measure_and_asks_past_it_is_partly_answered(corpus_pipeline: Pipeline) -> None:
    """汕尾 五（十三） says only "推行工程质量潜在缺陷保险制度": a caller who repeats it and asks whom to claim from asks
    what no clause says (房子, 漏水, 维修, 索赔 are in none). Asked in the library's words, the same quote is answered."""
    support = support_for(corpus_pipeline, "汕尾推行工程质量潜在缺陷保险制度，房子漏水了是找物业维修还是找保险公司索赔？")
    assert support.outcome == "partly" and support.unstated == ("您问的“房子、漏水、维修、索赔”",)
    answer = corpus_pipeline.ask("汕尾推行工程质量潜在缺陷保险制度，房子漏水了是找物业维修还是找保险公司索赔？")
    assert answer.text.startswith("文件中有相关规定，但没有写明您问的“房子、漏水、维修、索赔”。")
    assert "推行工程质量潜在缺陷保险制度" in answer.text
    assert support_for(corpus_pipeline, "汕尾推行工程质量潜在缺陷保险制度，这个保险是为了强化工程质量保障吗？").outcome == "answered"


def test_a_question_that_does_not_quote_its_clause_is_left_to_the_other_signals(corpus_pipeline: Pipeline) -> None:
    """Fewer than nine characters of the clause in a row ("潜在缺陷保险" is six): the rule does not read the ask."""
    retriever = corpus_pipeline.retriever
    query = retriever.analyze("潜在缺陷保险出险了，房子漏水是找物业维修还是找保险公司索赔？")
    clauses = [h.clause for h in retriever.search(query, k=3)]
    assert asked_beyond_quote(query, clauses, retriever.index) == ()


# Stop 42: statements a rule makes in a statute's shapes, read from `bench/local_answers.py` (questions over 61 local
# regulations that their articles answer, none of them in eval/). The texts are those articles' own sentences.

def test_a_rule_states_its_detail_for_the_acts_it_lists(corpus_pipeline: Pipeline) -> None:
    """A sanction for "下列行为之一" is for the acts the items list after the colon, in the same sentence or a later one
    of the rule; a condition closed by "…的，" and the rule after it are one phrase."""
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    fine = dataclasses.replace(clause, text="第三十五条 单位和个人违反本条例规定，有下列行为之一的，由省发展和改革部门没收违法所得，"
                               "对单位处一万元以上十万元以下罚款： （一）伪造、变造信息主体授权证明获取信息的； （二）其他侵害信息主体合法"
                               "权益的行为。")
    assert detail_stated("金额", [fine], ["伪造"]) and not detail_stated("金额", [fine], ["出售"])
    later = dataclasses.replace(clause, text="有下列行为之一的，对单位并处五万元以上十万元以下罚款；构成犯罪的，依法追究刑事责任："
                                "（一）违法采集社会信用信息；（二）违法获取或者出售社会信用信息。")
    assert detail_stated("金额", [later], ["出售"])
    ended = dataclasses.replace(clause, text="有下列情形的，处一万元罚款。其他单位应当履行下列义务：（一）出售信息前告知。")
    assert not detail_stated("金额", [ended], ["出售"])  # the fine's rule ended before the colon
    fee = dataclasses.replace(clause, text="公共信用机构受理公共信用修复申请的，不得收取任何费用。")
    assert detail_stated("收费", [fee], ["修复"])
    apart = dataclasses.replace(clause, text="开展信用修复，加强信用监管，不得收取任何费用。")
    assert not detail_stated("收费", [apart], ["修复"])


@pytest.mark.parametrize(("detail", "text", "topic"), [
    ("期限", "发生工程质量事故时，在接到事故现场报告后一小时内向主管部门报告", "事故"),
    ("日期", "不良信息的保存和披露期限为五年，自不良行为或者事件认定之日起计算", "不良行为"),
    ("时间", "市产业主管部门应当于每年上半年向社会发布年度计划实施情况的报告", "年度计划"),
    ("人员", "聘请人大代表、政协委员、企业职工和群众代表等担任政务服务监督员", "监督员"),
    ("上限", "劳务费支出不单设比例限制", "劳务费"),
    ("比例", "取消科研人员绩效支出占间接费用的比例限制", "绩效支出"),
    ("处罚后果", "承担探索性强的科技计划项目，未能形成预期科技成果的，不作负面评价，依法免除相关责任", "科技计划项目"),
    ("收费", "开发区的土地经征用后实行有偿使用", "土地"),
    ("实名或匿名", "行政机关应当依法保护履行职责过程中知悉的外商投资企业的商业秘密", "商业秘密"),
])
def test_a_statute_states_details_in_its_own_shapes(corpus_pipeline: Pipeline, detail: str, text: str,
                                                    topic: str) -> None:
    clause = dataclasses.replace(corpus_pipeline.index.clauses_matching(SearchFilters())[0], text=text + "。")
    assert detail_stated(detail, [clause], [topic])


def test_the_answer_to_a_timed_event_may_name_it_in_other_words(corpus_pipeline: Pipeline) -> None:
    assert {"公布", "发布"} <= set(asked_events("时间", "每年什么时候公布？"))
    clause = dataclasses.replace(corpus_pipeline.index.clauses_matching(SearchFilters())[0],
                                 text="市产业主管部门应当于每年上半年向社会发布年度计划实施情况的报告。")
    assert detail_stated("时间", [clause], ["年度计划"], asked_events("时间", "每年什么时候公布？"))
    assert not detail_stated("时间", [clause], ["年度计划"], asked_events("时间", "每年什么时候申报？"))


def test_a_figure_asked_for_a_target_year_is_stated_for_that_year(corpus_pipeline: Pipeline) -> None:
    """汕尾 一（二） gives its 合格率 targets for 2025 and none for 2035. The target year names no topic: "到2025年，"
    opens the paragraph whose later sentence holds the figure."""
    assert support_for(corpus_pipeline, "到2025年，汕尾制造业产品质量合格率要达到多少？").outcome == "answered"
    support = support_for(corpus_pipeline, "汕尾写了到2025年的一堆合格率目标，那到2035年的时候，制造业产品质量合格率要提到多少，"
                                           "有具体数吗？")
    assert support.outcome == "partly" and support.unstated == ("数量",)
    assert asking_part("合格率要提到多少，有具体数吗？") == "合格率要提到多少，有具体数吗？"
    assert asking_part("一年被查好几回，有没有说法？") == "有没有说法？"  # asks for any rule, not the count before it
    # "到2025年，" opening a paragraph dates the figures of its later sentences.
    clause = dataclasses.replace(corpus_pipeline.index.clauses_matching(SearchFilters())[0],
                                 text="到2025年，质量整体水平进一步全面提高。制造业产品质量合格率力争达到94.8%。")
    assert detail_stated("数量", [clause], ["制造业"], year="2025") and detail_stated("数量", [clause], ["制造业"])
    assert not detail_stated("数量", [clause], ["制造业"], year="2035")
    assert asked_year("数量", "汕尾写了到2025年的一堆合格率目标，那到2035年的时候，合格率要提到多少？") == "2035"
    assert asked_year("数量", "2014年那份计划里，合格率要提到多少？") == ""  # a year naming a document sets no target
    assert "2025" not in specific_terms(["2025", "合格率", "制造业"], corpus_pipeline.index, (), ("数量",), ("2025",))


@pytest.mark.parametrize(("question", "not_asked"), [
    ("执法部门的处罚文书能直接发到我手机或者邮箱吗？", "邮箱"),  # a way of delivery, not an address
    ("在深圳，企业的信用信息是靠什么号码关联到一起的？", "电话"),  # an ID number
    ("去城里工厂上班交职工社保，有缴费补贴可以拿吗？", "收费"),  # a subsidy for the fee
])
def test_words_of_a_detail_used_for_something_else_ask_none(question: str, not_asked: str) -> None:
    assert not_asked not in analyze_question(question, max_chars=200).details


def test_asks_for_a_phone_or_an_address_still_read() -> None:
    assert "电话" in asked_details("商标受理窗口的座机号码是多少？")
    assert "邮箱" in asked_details("材料是发到哪个邮箱？") and "邮箱" in asked_details("联系电话和邮箱是多少？")
    assert "邮箱" in asked_details("检验所有没有邮箱可以发材料咨询？")


def test_a_figure_is_no_word_a_group_must_name() -> None:
    assert asked_member("我40岁在广州做新能源创业，算不算扶持的青年？") == ("广州", "能源", "新能源", "创业")


def test_a_public_body_or_whom_a_thing_goes_to_answers_who(corpus_pipeline: Pipeline) -> None:
    query = corpus_pipeline.retriever.analyze("公务员一直拖着不办，归谁监督问责？")
    clause = corpus_pipeline.index.clauses_matching(SearchFilters())[0]
    organ = dataclasses.replace(clause, departments=(), text="监察机关应当加强对公职人员不作为、乱作为问题的监督问责。")
    owners = dataclasses.replace(clause, departments=(), text="在合作转化中产生新的发明创造的，该新发明创造的权益归合作各方共有。")
    assert unnamed_department(query, [organ]) == () and unnamed_department(query, [owners]) == ()


def test_how_many_working_days_and_a_subsidy_standard_are_asks() -> None:
    assert "期限" in asked_details("验收过了以后几个工作日能拿到钱？")
    assert asked_details("这个激励具体给的是什么？奖补标准是多少？") == ("金额",)


def test_conditions_a_rule_lists_are_not_what_they_are_for(corpus_pipeline: Pipeline) -> None:
    """"符合下列条件之一：（一）能够…满足…" lists conditions; a question word among them (满足) does not make them the
    conditions of what the question asks about. Fines and sanctions are for the acts listed."""
    clause = dataclasses.replace(corpus_pipeline.index.clauses_matching(SearchFilters())[0],
                                 text="中标人的投标应当符合下列条件之一：\n（一）能够最大限度地满足招标文件中规定的各项综合评价标准；"
                                      "\n（二）能够满足招标文件的实质性要求。")
    assert not detail_stated("资格条件", [clause], ["满足"])
