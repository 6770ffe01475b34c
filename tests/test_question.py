"""The one analysis of a question (rag/question.py) and the vocabulary it uses, on real questions."""

from __future__ import annotations

import dataclasses

import pytest

from rag.clause_store import DocumentEntry, SearchFilters
from rag.config import PROJECT_ROOT
from rag.errors import QueryError
from rag.ingest import load_corpus
from rag.lexical import TermCounts, holds_term
from rag.passages import quoted_names
from rag.pipeline import Pipeline
from rag.question import (
    analyze_question,
    asked_choices,
    asked_focus,
    asking_part,
    content_terms,
    document_place,
    follow_up_context,
    is_follow_up,
    mentioned_documents,
    national_documents,
    new_topic_terms,
    question_frame,
    question_intent,
)
from rag.vocabulary import colloquial_in, colloquial_lexicon, is_content_word, parse_lexicon, policy_terms_for

SHANWEI = "2023-shanwei-quality-strong-city-opinion"
CITY = "city-product-quality-implementation-opinion"
PRIVATE = "2021-qi-private-enterprises-opinion"
EIGHTEEN = "2022-18-departments-quality-improvement"
PLAN_2014 = "2014-quality-outline-action-plan"


@pytest.mark.parametrize(("question", "intent"), [
    ("哪些部门负责质量基础设施一站式服务？", "department"),
    ("质量共治由谁牵头？", "department"),
    ("推进技术专利化这事在市里归哪几个局？", "department"),  # a bureau is a department
    ("这个许可去哪个厅办？", "department"),
    ("企业主导制定国际标准，市里每个项目奖励多少钱？", "figure"),
    ("2014年质量工作行动计划是国务院办公厅哪天印发的？", "figure"),
    ("民营企业想参加质量管理体系认证，有哪些支持？", "measures"),
    ("我是开小厂的，产品老是被抽检不合格，政府有啥帮扶？", "measures"),
    ("首席质量官", "general"),
])
def test_intent(question: str, intent: str) -> None:
    assert question_intent(question) == intent
    assert analyze_question(question).intent == intent


@pytest.mark.parametrize(("question", "ask"), [
    ("本地几家同行约好一起涨价，这样违法吗？", "这样违法吗？"),  # 几家 describes, it does not ask
    ("公司连着好几年赚钱却一分钱红都不分，小股东能要求公司把股份买回去吗？", "小股东能要求公司把股份买回去吗？"),
    ("我们是小厂，价格合不合法", "价格合不合法"),
    ("我们产品有几个关键部件老依赖进口，档次一直上不去，国家有什么说法？", "国家有什么说法？"),
    ("企业主导制定国际标准，市里每个项目奖励多少钱？", "市里每个项目奖励多少钱？"),
    # Each question drops its own situation; a sentence with no comma, or a closing clause that asks nothing, stays whole.
    ("我开了几家连锁洗衣店，服务这一行有没有统一的质量标准？国家提过要把服务业的标准弄完善吗？",
     "服务这一行有没有统一的质量标准？国家提过要把服务业的标准弄完善吗？"),  # 几家 is the situation, not a count asked
    ("拿了红点奖多久之内要去申报那10万元奖励？往年得的奖还算吗？", "拿了红点奖多久之内要去申报那10万元奖励？往年得的奖还算吗？"),
    ("汕尾有几家企业拿了质量奖，请列出来。", "汕尾有几家企业拿了质量奖，请列出来。"),
    # beside a question, a sentence ending in "。" tells (the 多少钱 of the boss's wish is no amount asked) unless it requests
    ("领导总说要把品牌值多少钱评出个数来。国家有没有品牌价值评价的安排？", "国家有没有品牌价值评价的安排？"),
    ("市里有几个试点？请列出来。", "市里有几个试点？请列出来。"),
    ("汕尾的呢？", "汕尾的呢？"),
    ("我们厂想报质量奖，啥时候开始申报？", "什么时候开始申报？"),  # the ask in written words, for every reader of it
    ("想报质量奖，咋申请？", "怎么申请？"),
    # "干嘛" asks what for: the figures of the situation before it are not asked
    ("统计局发表格让我们厂填产品合格率这些数据，这些数最后是拿去干嘛用的？", "这些数最后是拿去干嘛用的？"),
    # a clause whose question word closes it asks too; not one judged by "这样…吗？", nor a count of the situation
    ("北京种业大会今年什么时候开幕，在哪个场馆办？", "北京种业大会今年什么时候开幕，在哪个场馆办？"),
    ("当地非要求注册资金和场地达到多少才让进，这样合理吗？", "这样合理吗？"),
    ("市里要在交通工程里树几个典型出来，有这回事吗？", "有这回事吗？"),
])
def test_the_situation_before_the_asking_clause_is_not_asked(question: str, ask: str) -> None:
    assert asking_part(question) == ask
    assert analyze_question(question).ask == ask


def test_a_count_in_the_situation_makes_no_figure_question() -> None:
    assert question_intent("本地几家同行约好一起涨价，这样违法吗？") == "general"
    assert question_intent("本地有几家企业拿了质量奖？") == "figure"


def test_the_figures_a_question_gives_are_read_whole() -> None:
    assert analyze_question("打了96333，多少分钟能赶到？").numbers == ("96333",)
    assert analyze_question("18部门那份方案里，合格率要到98.5%吗？").numbers == ("18", "98.5")
    assert analyze_question("质量奖有多少奖金？").numbers == ()


def test_either_or_questions_offer_their_alternatives() -> None:
    signer, company = asked_choices("汕尾的工程质量终身责任书面承诺，是要项目经理签，还是公司法人来签？")
    assert "项目经理" in signer and "公司法人" in company and "签" not in signer + company  # 签 is asked either way
    assert asked_choices("这个资助是自动发还是要自己去报？") == ()  # no thing named either way
    assert asked_choices("汕尾抓质量，党委那头管不管？") == ()


def test_a_traditional_question_is_normalised_once() -> None:
    query = analyze_question("  民營企業想參加質量管理體系認證，有哪些支持？ ")
    assert query.traditional and query.text == "民营企业想参加质量管理体系认证，有哪些支持？"
    assert query.raw == "  民營企業想參加質量管理體系認證，有哪些支持？ "
    assert {"民营企业", "认证"} <= set(query.terms)
    assert "支持" not in query.terms and "哪些" not in query.terms  # intent and stop words carry no topic


def test_taiwan_and_hong_kong_words_bring_the_mainland_words_of_the_documents(corpus_pipeline: Pipeline) -> None:
    """OpenCC's t2s changes the characters, not the words: 網路 stays 网路, which no clause holds."""
    query = analyze_question("網路賣東西的品管怎麼抓？")
    assert query.traditional and "网路" in query.text
    assert {"网络", "质量管理"} <= set(query.expansions)
    hits = corpus_pipeline.retriever.search(corpus_pipeline.retriever.analyze("網路賣東西的品管怎麼抓？"), k=5,
                                            mode="lexical")
    assert hits and any("网络" in hit.clause.text for hit in hits)


def test_colloquial_words_bring_policy_terms_into_the_lexical_query() -> None:
    query = analyze_question("我是开小厂的，产品老是被抽检不合格，政府有啥帮扶？")
    assert {"中小企业", "监督抽查"} <= set(query.expansions)
    assert "追溯" in analyze_question("卖的酒得能查到来路吗？").expansions  # 来路: where it came from
    # entries from a writer who saw neither eval/ nor rag/ (stop 40), in either script
    assert "劳动报酬" in analyze_question("老板跑路了，底薪还没发，找谁要？").expansions
    assert "带薪年休假" in analyze_question("我們公司沒有特休，合法嗎？").expansions
    assert "老是" not in query.terms  # a filler of spoken questions
    assert query.lexical_text.endswith(" ".join(query.expansions))
    assert query.search_text == query.text  # the vector sees the question as asked


def test_issuer_questions() -> None:
    assert analyze_question("《关于进一步发挥质量基础设施支撑引领民营企业提质增效升级作用的意见》是哪几个部门联合发的？").asks_issuer
    assert not analyze_question("发布节能产品认证管理办法，哪个部门牵头？").asks_issuer  # a task that issues something
    who = analyze_question("18部门那个方案是谁发的？")  # who issued it: the issuers are the answer
    assert who.asks_issuer and who.intent == "department"


def test_lead_questions() -> None:
    assert analyze_question("那牵头的是哪个部门？", history=["哪些部门负责质量基础设施一站式服务？"]).asks_lead
    assert not analyze_question("哪些部门负责质量基础设施一站式服务？").asks_lead


def test_follow_up_inherits_context_intent_and_the_named_document(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.index.manifest.documents
    query = analyze_question("汕尾的呢？", history=["哪些部门负责质量基础设施一站式服务？"], documents=documents)
    assert query.context == ("哪些部门负责质量基础设施一站式服务？",)
    assert query.intent == "department" and query.documents == (SHANWEI,)
    assert "汕尾" not in query.lexical_text  # the place chose the document; it does not rank its clauses
    standalone = analyze_question("首席质量官有什么要求？", history=["汕尾的呢？"], documents=documents)
    assert standalone.context == () and standalone.documents == ()


def test_named_documents(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.index.manifest.documents
    assert mentioned_documents("汕尾的呢？", documents) == (SHANWEI,)
    assert mentioned_documents("《关于全面提升产品质量的实施意见》有哪些奖励？", documents) == (CITY,)
    assert mentioned_documents("哪些部门负责质量基础设施一站式服务？", documents) == ()
    # Short names: a few words of the title or issuer before the kind of document.
    assert mentioned_documents("民营企业意见里是怎么说“一站式”服务的？", documents) == (PRIVATE,)
    assert mentioned_documents("18部门的方案呢？", documents) == (EIGHTEEN,)  # issuer 市场监管总局等18部门
    # The joint issuers' count names the document anywhere in the question, with or without 个.
    query = analyze_question("18个部门那份质量提升方案，打算把质量监管检测体系搭成几级？", documents=documents)
    assert query.documents == (EIGHTEEN,) and query.naming == ("18个部门",) and "18" not in query.terms
    assert mentioned_documents("18部门说要出重点产品质量安全监管目录", documents) == (EIGHTEEN,)
    # Its year and its kind: the 2014 plan's date and title, not a word of the title before 计划.
    query = analyze_question("国务院2014年那份质量计划里，对交通工程的质量执法提过啥要求？", documents=documents)
    assert query.documents == ("2014-quality-outline-action-plan",) and query.naming == ("2014年那份质量计划",)
    assert mentioned_documents("2019年的计划里有什么？", documents) == ()  # no document of that year
    # A year pointed at with no kind word, as a phone message says it: the document of that year.
    query = analyze_question("2014那份治大气重点治啥", documents=documents)
    assert query.documents == (PLAN_2014,) and query.naming == ("2014那份",) and "2014" not in query.terms
    assert mentioned_documents("2019年那份说了啥", documents) == ()
    assert mentioned_documents("2014年那个时候我们厂刚开，有什么扶持？", documents) == ()  # a time, not a document
    # The year may open a longer description than a short name: its issuer and a few words of the title between.
    query = analyze_question("2014年国务院那份质量行动计划发下来，要地方自己再定工作方案吗？", documents=documents)
    assert query.documents == (PLAN_2014,) and query.naming == ("2014年国务院那份质量行动计划",)
    # By its issuers, however joined or counted, and with 那份 or a verb of issuing between.
    assert mentioned_documents("国务院办公厅那份计划里有什么？", documents) == ("2014-quality-outline-action-plan",)
    assert mentioned_documents("市场监管总局和全国工商联发的意见", documents) == (PRIVATE,)
    assert mentioned_documents("六部门的意见怎么说？", documents) == (PRIVATE,)  # six issuers listed with 、
    assert mentioned_documents("十六部门的意见怎么说？", documents) == ()  # a count is read whole
    assert mentioned_documents("十八个部门的方案", documents) == (EIGHTEEN,)
    assert mentioned_documents("全国工商联那份文件", documents) == (PRIVATE,)  # 文件: any kind, by its issuer
    assert mentioned_documents("民企那份意见里", documents) == (PRIVATE,)  # 民企: 民营企业, as the lexicon says
    assert mentioned_documents("全面提升产品质量的实施意见", documents) == (CITY,)  # the title's own 的
    assert mentioned_documents("文件里有没有说？", documents) == ()
    assert mentioned_documents("国家发展的规划", documents) == ()  # 发 of 发展 is no verb of issuing
    assert mentioned_documents("2014年的行动计划里，推进质量共治要做哪些事？", documents) == (PLAN_2014,)
    for vague in ("这个意见里说了什么？", "市里的实施意见呢？", "国家的计划呢？", "民营企业有什么支持？"):
        assert mentioned_documents(vague, documents) == (), vague
    query = analyze_question("汕尾市对获得质量奖的企业有什么奖励？", documents=documents)
    assert query.documents == (SHANWEI,) and query.naming[:2] == ("汕尾市", "汕尾")
    assert "质量奖" in query.terms and "汕尾" not in query.terms


def test_named_documents_follow_the_library_and_find_one_among_thousands(corpus_pipeline: Pipeline) -> None:
    """The name table is built once per library: a re-indexed library (a new documents tuple) is read anew."""
    founding = corpus_pipeline.index.manifest.documents
    foshan = DocumentEntry("foshan-quality", "佛山市质量提升三年行动方案", "foshan.txt", "0" * 64, 12,
                           issuer="佛山市市场监督管理局", doc_number="佛市监〔2024〕7号")
    laws = tuple(DocumentEntry(f"law-{n}", f"中华人民共和国第{n}号示例法", f"law-{n}.txt", "0" * 64, 40)
                 for n in range(2_000))
    library = (*founding, *laws, foshan)
    assert mentioned_documents("佛山的呢？", founding) == ()
    assert mentioned_documents("佛山的呢？", library) == ("foshan-quality",)
    assert mentioned_documents("佛市监〔2024〕7号里怎么说？", library) == ("foshan-quality",)
    assert mentioned_documents("中华人民共和国第1234号示例法第三条", library) == ("law-1234",)
    assert mentioned_documents("汕尾和佛山的质量奖有什么不同？", library) == (SHANWEI, "foshan-quality")
    assert mentioned_documents("民营企业意见里是怎么说“一站式”服务的？", library) == (PRIVATE,)
    assert mentioned_documents("佛山的呢？", founding) == ()  # back to the founding library



def test_a_regulation_added_as_a_plain_file_is_named_by_the_place_its_title_opens_with() -> None:
    """Without a manifest no issuer is known: "在浙江罚多少？" names the regulations whose titles open with 浙江省, a special
    economic zone's its city, a free-trade zone's the province in its brackets; a national law names no place, and a known
    issuer's place wins over the title's."""
    def entry(doc_id: str, title: str, issuer: str = "") -> DocumentEntry:
        return DocumentEntry(doc_id, title, f"{doc_id}.md", "0" * 64, 30, issuer=issuer)
    library = (entry("zj-credit", "浙江省公共信用信息管理条例"), entry("sz-credit", "深圳经济特区社会信用条例"),
               entry("sd-ftz", "中国（山东）自由贸易试验区条例"), entry("sh-credit", "上海市社会信用条例"),
               entry("law", "中华人民共和国产品质量法"), entry("notice", "广东省某某实施方案", issuer="汕尾市市场监督管理局"))
    assert document_place(library[0]) == ("浙江省", "浙江") and document_place(library[1]) == ("深圳",)
    assert document_place(library[2]) == ("山东",) and document_place(library[4]) == ()
    assert document_place(library[5]) == ("汕尾市", "汕尾")  # the issuer's place, not the title's 广东省
    assert document_place(entry("notice-2", "关于省级质量奖评审的通知")) == ()  # no place called 关于
    assert document_place(entry("notice-3", "关于印发《佛山市质量提升三年行动方案》的通知")) == ("佛山市", "佛山")
    # A province-level title may drop its 市: Beijing's regulation is still Beijing's.
    beijing = entry("bj-tech", "北京国际科技创新中心建设条例")
    assert document_place(beijing) == ("北京",)
    assert mentioned_documents("遇到国家安全急需的技术难题，北京能否组织应急科研攻关？", (*library, beijing)) == ("bj-tech",)
    assert mentioned_documents("伪造授权书查别人的信用信息，在浙江罚多少？", library) == ("zj-credit",)
    assert mentioned_documents("在深圳，企业的信用信息靠什么号码关联？", library) == ("sz-credit",)
    assert mentioned_documents("山东自贸区对新药孵化有哪些扶持？", library) == ("sd-ftz",)
    assert mentioned_documents("广东的呢？", library) == ()

@pytest.mark.parametrize(("question", "expected"), [
    ("那牵头的是哪个部门？", True),
    ("汕尾的呢？", True),
    ("具体奖励多少？", True),
    ("这些措施由谁落实？", True),
    ("意见最晚什么时候交？", True),  # names only a kind of document
    ("首席质量官", False),
    ("质量奖评选的意见什么时候交？", False),
    ("哪些部门负责质量基础设施一站式服务？", False),
    ("汕尾的食品抽检合格率目标是多少？", False),
])
def test_is_follow_up(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


def test_follow_up_context_goes_back_to_the_last_full_question() -> None:
    earlier = ["首席质量官", "哪些部门负责质量基础设施一站式服务？", "汕尾的呢？"]
    assert follow_up_context("那牵头的是哪个部门？", earlier) == ["哪些部门负责质量基础设施一站式服务？", "汕尾的呢？"]
    assert follow_up_context("首席质量官有什么要求？", earlier) == []
    assert follow_up_context("汕尾的呢？", []) == []


@pytest.mark.parametrize("question", ["", "   ", "？？？", "……！", "质" * 2_001])
def test_questions_without_content_are_refused(question: str) -> None:
    with pytest.raises(QueryError):
        analyze_question(question)


@pytest.mark.parametrize("question", ["啥？", "谁负责？", "多少钱？", "怎么办？"])
def test_a_question_with_only_its_asking_words_asks_what_it_is_about(question: str) -> None:
    with pytest.raises(QueryError, match="没有问的是哪件事"):
        analyze_question(question)
    assert analyze_question(question, history=["汕尾市政府质量奖有什么奖励？"]).context  # a follow-up leans on it
    assert analyze_question("12315").terms == ("12315",)  # a keyword alone asks nothing and is searched


def test_vocabulary() -> None:
    assert not is_content_word("哪些") and not is_content_word("部门") and not is_content_word("质量")
    assert not is_content_word("没有") and is_content_word("首席质量官")
    assert policy_terms_for("网店卖山寨货") == ("假冒伪劣", "假冒", "电子商务", "网络")  # lexicon order
    assert policy_terms_for("假冒伪劣 山寨") == ()  # terms already in the question are not repeated
    assert parse_lexicon("# comment\n小厂\t中小企业,小微企业\n\n") == (("小厂", ("中小企业", "小微企业")),)
    with pytest.raises(ValueError, match="line 1"):
        parse_lexicon("小厂 中小企业")


@pytest.mark.parametrize(("question", "word"), [
    ("超市保安硬要翻我的包，他们有这个权力吗？", "翻包"),
    ("申请劳动仲裁要交多少钱？", "交钱"),
    ("公司拖欠了我的工资怎么办？", "拖欠工资"),
    ("入职半年了都没签过合同", "没签合同"),
    ("公司押了我的身份证，合法吗？", "押身份证"),
])
def test_colloquial_words_are_found_with_pronouns_and_particles_slipped_in(question: str, word: str) -> None:
    assert word in [found for found, _ in colloquial_in(question)]


def test_only_particles_and_pronouns_slip_into_a_colloquial_word() -> None:
    assert "工人" not in [found for found, _ in colloquial_in("车间工作的人多不多？")]
    assert "翻包" not in [found for found, _ in colloquial_in("翻来覆去看了半天的包装")]


def test_a_name_the_documents_quote_stays_one_term(corpus_pipeline: Pipeline) -> None:
    """jieba cuts 质量月 into 质量 (too common to be a term) and 月: the question would lose its topic, and the
    answer would quote clauses about 每年. The index's quoted names keep it whole."""
    assert "质量月" not in content_terms("质量月是每年几月？")
    assert "质量月" in corpus_pipeline.retriever.analyze("质量月是每年几月？").terms
    assert quoted_names([dataclasses.replace(corpus_pipeline.index.clauses_matching(SearchFilters())[0],
                                             text="组织全国“质量月”活动，开展「领跑者」评价。")]) == ["质量月", "领跑者"]
    answer = corpus_pipeline.ask("质量月是每年几月？")
    assert answer.outcome == "partly" and all("质量月" in c.clause.text for c in answer.citations)


def test_every_lexicon_term_is_a_word_the_documents_use() -> None:
    """A policy or legal term that no document contains would add nothing to a search but noise."""
    corpus = load_corpus([PROJECT_ROOT / "corpus", PROJECT_ROOT / "eval" / "laws" / "corpus"])
    text = "\n".join(document.text for document in corpus.documents)
    unused = [(word, term) for word, terms in colloquial_lexicon() for term in terms if term not in text]
    assert unused == []
    assert ("翻包", ("搜查", "携带的物品")) in colloquial_lexicon()


def test_a_follow_up_on_a_new_topic_keeps_only_the_frame_of_the_earlier_question(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.retriever.index.manifest.documents
    earlier = "2014年的行动计划里，食品农产品质量安全监管由哪个部门牵头？"
    switched = analyze_question("那消费品质量安全监管呢？", history=[earlier], documents=documents)
    assert switched.context == ("2014年的行动计划里，质量安全监管由哪个部门牵头？",)
    assert switched.intent == "department"
    assert "食品" not in switched.search_text and "消费品" in switched.terms
    # A place or a document is no new topic: the earlier question stays whole.
    same_topic = analyze_question("汕尾的呢？", history=["新设立的新业态企业有没有包容期？"], documents=documents)
    assert same_topic.context == ("新设立的新业态企业有没有包容期？",)
    assert new_topic_terms("具体奖励多少？", ["汕尾市对获得质量奖的企业有什么奖励？"], ()) == []


def test_the_conversation_picks_the_clause_of_the_new_topic(corpus_pipeline: Pipeline) -> None:
    earlier = "2014年的行动计划里，食品农产品质量安全监管由哪个部门牵头？"
    hits = corpus_pipeline.retriever.search(
        corpus_pipeline.retriever.analyze("那消费品质量安全监管呢？", history=[earlier]), k=3)
    assert hits[0].clause.clause_id == "2014-quality-outline-action-plan#一（二）"


def test_a_level_is_no_new_topic(corpus_pipeline: Pipeline) -> None:
    earlier = "在本市承担全国标准化专业技术委员会秘书处工作的单位，能拿多少资助？"
    query = analyze_question("省级的呢？", history=[earlier], documents=corpus_pipeline.index.manifest.documents)
    assert query.context == (earlier,)


def test_only_an_x_ne_question_switches_topic(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.index.manifest.documents
    earlier = "民营企业申报中国质量奖，国家鼓励吗？"
    more = analyze_question("那申报要满足什么条件？", history=[earlier], documents=documents)
    assert more.context == (earlier,)  # asks more about the same topic
    place_kept = analyze_question("保健食品企业呢？", history=["汕尾对婴幼儿配方乳粉生产企业的体系检查有什么要求？"],
                                  documents=documents)
    assert "汕尾" in place_kept.context[0] and "婴幼儿" not in place_kept.context[0]
    assert place_kept.documents == (SHANWEI,)


def test_no_piece_cut_across_a_colloquial_word() -> None:
    assert "开小" not in content_terms("我是开小厂的，产品老是被抽检不合格，政府有啥帮扶？")


def test_a_function_character_glued_to_a_guessed_word_is_split_off() -> None:
    # jieba's guesser reads 共治要 in "共治要做"; the clause says "推进质量共治。"
    assert "共治" in content_terms("推进质量共治要做哪些事？") and "共治要" not in content_terms("推进质量共治要做哪些事？")
    assert "会议纪要" in content_terms("会议纪要在哪里看？")  # a dictionary word keeps its last character
    # …and in a spoken question the one before it: 要考, 能查, 货都 are no words a clause could hold
    terms = content_terms("厂里叉车司机要考特种设备作业人员证，能查吗？货都卖不出去")
    assert not {"要考", "能查", "货都"} & set(terms) and "特种设备" in terms
    # …and an asking word before the verb it asks about: 哪天发 of "哪天发的", no word of any clause
    assert content_terms("汕尾那份意见是谁发的，哪天发的？") == ["汕尾", "意见"]


def test_a_follow_up_on_what_a_named_plan_says_keeps_its_topic(corpus_pipeline: Pipeline) -> None:
    answer = corpus_pipeline.ask("这项工作谁牵头？", history=[("2014年的行动计划里，推进质量共治要做哪些事？", "……")])
    assert answer.outcome == "answered"
    assert answer.citations[0].clause.clause_id == f"{PLAN_2014}#四（十三）" and "质检总局" in answer.text


def test_a_topic_switch_keeps_what_the_earlier_question_asked_for() -> None:
    framed = question_frame("企业主导制定行业标准，市里奖励多少？", "那团体标准呢？")
    assert "奖励多少" in framed and "行业标准" not in framed


def test_a_national_follow_up_drops_the_place_of_the_earlier_question(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.index.manifest.documents
    query = analyze_question("那国家层面呢？", history=["汕尾对网络平台上卖的商品怎么做质量检查？"], documents=documents)
    assert SHANWEI not in query.documents and PLAN_2014 in query.documents
    assert "汕尾" not in query.search_text and "网络平台" in query.search_text
    assert national_documents(documents) == (PLAN_2014, PRIVATE, EIGHTEEN)
    answer = corpus_pipeline.ask("那国家层面呢？", history=[("汕尾对网络平台上卖的商品怎么做质量检查？", "……")])
    assert all(not c.clause.doc_id.startswith("2023-shanwei") for c in answer.citations)


def test_the_city_and_the_nation_are_told_from_countries_and_supermarkets(corpus_pipeline: Pipeline) -> None:
    documents = corpus_pipeline.index.manifest.documents
    local = analyze_question("市里有没有质量奖？", documents=documents).documents
    assert set(local) == {SHANWEI, "city-product-quality-implementation-opinion"}
    assert analyze_question("市裡叫企業學哪些國家的先進標準？", documents=documents).documents == local  # countries
    assert analyze_question("超市里的食品谁来抽检？", documents=documents).documents == ()
    assert analyze_question("国家的质量奖怎么评？", documents=documents).documents == (PLAN_2014, PRIVATE, EIGHTEEN)


def test_question_words_meet_the_documents_acronyms() -> None:
    """The tokenizer lower-cases (ISO证书 → iso); documents write ISO 9001 and CCC."""
    assert "iso" in content_terms("ISO证书怎么办？")
    assert holds_term("通过ISO 9001认证", "iso") and not holds_term("通过认证", "iso")
    counts = TermCounts(["实行CCC认证自我声明", "质量认证", "ISO 9001、ccc"])
    assert (counts("ccc"), counts("iso"), counts("认证"), counts("CCC")) == (2, 1, 2, 1)


@pytest.mark.parametrize(("question", "focus"), [
    ("质量月活动的宣传标语是什么？", ("宣传标语",)),
    ("首席质量官对学历有什么要求？", ("学历",)),  # not 官对学历: jieba's guess 官对 links two words
    ("中国质量奖的评审委员会主任是谁？", ("评审委员会主任",)),
    ("做测评的机构要具备什么资质才会被采信？", ("资质",)),
    ("企业能享受什么税收优惠？", ("税收优惠",)),
    ("设首席质量官有什么硬性规定？", ()),  # 硬性 only qualifies the 规定 asked for
    ("民营企业参加计量比对，国家是啥态度？", ()),
    ("汕尾对农村消费有什么打算？", ("农村消费",)),
    # What asks for the shape of an answer names nothing: measures, a relation, names, a meaning.
    ("国家对中小企业质量提升有啥帮扶？", ()),
    ("民营企业提升质量有哪些支持？", ()),
    ("治理雾霾跟产品标准有什么关系？", ("标准",)),  # 关系 asks; the 标准 before it is named
    ("这几项行动都叫什么名字？", ("行动",)),  # 名字 asks, of the 行动
    ("市里对计量这一块有什么新举措？", ()),  # 这一块 measures out the topic, it names no thing
    ("市里组织过什么专门的培训吗？", ()),  # 专门 qualifies the 培训 asked for
    ("哪几个县城产业撑起了全市经济？", ()),  # a subject and its verb: not a phrase ending at 产业
    ("想评上得拿出什么样的产品？", ()),  # a kind
    ("“质量首负责任制”是什么意思？", ()),
    ("哪些部门负责质量基础设施一站式服务？", ()),
    ("培育社会团体标准这件事，当时是哪个部门牵头？", ()),  # 当时 says when, it names no thing
    ("北京搞数字经济，具体牵头的是哪个委办局？", ()),  # 委办局: any department, as 部门
])
def test_what_a_question_asks_about_by_name(question: str, focus: tuple[str, ...]) -> None:
    assert asked_focus(question) == focus


def test_what_details_a_question_asks_for_follows_the_conversation() -> None:
    assert analyze_question("汕尾的呢？", history=["市里要建几项社会公用计量标准？"]).details == ("数量",)
    assert analyze_question("那牵头的是哪个部门？", history=["企业主导制定国际标准，市里每个项目奖励多少钱？"]).details == ()
    assert analyze_question("出了质量事故要报给哪个部门、几天内报？").details == ("期限",)
    assert analyze_question("哪几个部门联合发的文？").details == ()  # the departments are the count
